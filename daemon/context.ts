/**
 * Everything a command needs from a config: the validated config, the compiled trust policy,
 * the node's signer (or offline key) and, on demand, the store. Config and key errors surface before anything
 * is opened.
 */
import { fromHex } from '../protocol/encoding.ts';
import type { OfflineKey, Signer } from '../protocol/keys.ts';
import { compileTrust, type TrustPolicy, type TrustPolicyInput } from '../protocol/trust.ts';
import { AttestationStore } from '../store/store.ts';
import { loadConfig, type Config } from './config.ts';
import { DaemonError } from './errors.ts';
import { loadSigner } from './signer/load.ts';
import { StagexError } from '../protocol/errors.ts';

export interface NodeContext {
  config: Config;
  policy: TrustPolicy;
  /** What `policy` was compiled from: verification workers compile their own copy. */
  trust: TrustPolicyInput;
  /** The node's key: a signer (key file or command), or an offline key whose statements wait. */
  signer: Signer | OfflineKey;
}

export async function loadContext(configFile: string): Promise<NodeContext> {
  const config = await loadConfig(configFile);
  const signer = await loadSigner(config);
  let policy: TrustPolicy;
  let trust: TrustPolicyInput;
  try {
    trust = {
      threshold: config.trust.threshold,
      keys: config.trust.keys.map((k) => ({ name: k.name, publicKey: fromHex(k.publicKey, `trust.keys (${k.name}).publicKey`, 32) })),
      revoked: config.trust.revoked,
      extraKnown: [signer.publicKey],
    };
    policy = compileTrust(trust, `config ${config.file}: trust`);
  } catch (error) {
    if (error instanceof StagexError) throw new DaemonError('BAD_CONFIG', error.message, { cause: error });
    throw error;
  }
  return { config, policy, trust, signer };
}

/** Opens the store a context names, runs `work`, and always closes it. */
export async function withStore<T>(context: NodeContext, work: (store: AttestationStore) => Promise<T>): Promise<T> {
  const store = await AttestationStore.open(context.config.store);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}
