/**
 * The node's signer, from the config (DESIGN section 4): the 0600 key file `signingKey` (the
 * default, what `init` makes), an external command (`signer.command`), or no key online
 * (`signer.offline`). Key problems surface here, before anything is opened.
 */
import { fromHex } from '../../protocol/encoding.ts';
import { checkPublicKey } from '../../protocol/ed25519.ts';
import { StagexError } from '../../protocol/errors.ts';
import { keyidOf, type OfflineKey, type Signer } from '../../protocol/keys.ts';
import type { Config } from '../config.ts';
import { DaemonError } from '../errors.ts';
import { loadSigningKey } from '../keyfile.ts';
import { createCommandSigner } from './command.ts';

export async function loadSigner(config: Config): Promise<Signer | OfflineKey> {
  if (config.signer === undefined) return loadSigningKey(config.signingKey!);
  const { command, publicKey: hex, timeoutSeconds } = config.signer;
  let publicKey: Uint8Array;
  try {
    publicKey = fromHex(hex, `config ${config.file}: signer.publicKey`, 32);
    checkPublicKey(publicKey, `config ${config.file}: signer.publicKey ${hex}`);
  } catch (error) {
    if (error instanceof StagexError) throw new DaemonError('BAD_CONFIG', error.message, { cause: error });
    throw error;
  }
  if (command === undefined) return { publicKey, keyid: keyidOf(publicKey), offline: true };
  return createCommandSigner({ command, publicKey, ...(timeoutSeconds === undefined ? {} : { timeoutMs: timeoutSeconds * 1000 }) });
}

/** Narrows the node's signer to one that signs here; OFFLINE names what to do instead. */
export function onlineSigner(signer: Signer | OfflineKey, what: string): Signer {
  if ('offline' in signer) {
    throw new DaemonError('OFFLINE', `${what}: this node's key (keyid ${signer.keyid}) signs offline (config signer.offline); expected a signing key here. Builds wait for \`stagex-node statements export <dir>\`, signing elsewhere, and \`statements import <dir>\``);
  }
  return signer;
}
