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
import type { Keyring } from './openpgp.ts';
import { StagexError } from '../protocol/errors.ts';

export interface NodeContext {
  config: Config;
  policy: TrustPolicy;
  /** What `policy` was compiled from: verification workers compile their own copy. */
  trust: TrustPolicyInput;
  /** The node's key: a signer (key file or command), or an offline key whose statements wait. */
  signer: Signer | OfflineKey;
  /** The signers' OpenPGP certificates (empty when none is configured). */
  keyring: Keyring;
}

export async function loadContext(configFile: string): Promise<NodeContext> {
  const config = await loadConfig(configFile);
  const signer = await loadSigner(config);
  return { config, signer, ...(await trustOf(config, signer.publicKey)) };
}

/**
 * What a config's trust section compiles to, with this node's own key verified but not voting
 * (start, and `reload` with a new config file). BAD_CONFIG for a policy that cannot hold.
 */
export async function trustOf(config: Config, ownKey: Uint8Array): Promise<Pick<NodeContext, 'policy' | 'trust' | 'keyring'>> {
  let policy: TrustPolicy;
  let trust: TrustPolicyInput;
  try {
    trust = {
      threshold: config.trust.threshold,
      keys: config.trust.keys.map((k) => ({
        name: k.name,
        ...(k.publicKey === undefined ? {} : { publicKey: fromHex(k.publicKey, `trust.keys (${k.name}).publicKey`, 32) }),
        ...(k.openpgp === undefined ? {} : { openpgp: k.openpgp.map((o) => o.fingerprint) }),
      })),
      revoked: config.trust.revoked,
      extraKnown: [ownKey],
    };
    policy = compileTrust(trust, `config ${config.file}: trust`);
  } catch (error) {
    if (error instanceof StagexError) throw new DaemonError('BAD_CONFIG', error.message, { cause: error });
    throw error;
  }
  return { policy, trust, keyring: await keyringOf(config) };
}

/**
 * The certificates of `trust.keys[].openpgp`, checked against their configured fingerprints.
 * openpgp.js is loaded only when a config names one.
 */
async function keyringOf(config: Config): Promise<Keyring> {
  const sources = config.trust.keys.flatMap((k, i) => (k.openpgp ?? []).map((o, j) => ({ signer: k.name, fingerprint: o.fingerprint, certificate: o.certificate, field: `trust.keys.${i}.openpgp.${j}` })));
  if (sources.length === 0) return { certificates: [] };
  const { loadKeyring } = await import('./openpgp.ts');
  return loadKeyring(sources, config.file);
}

/** Opens the store a context names, runs `work`, and always closes it. */
export async function withStore<T>(context: NodeContext, work: (store: AttestationStore) => Promise<T>): Promise<T> {
  const store = await AttestationStore.open(context.config.store, { sync: context.config.storeSync });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}
