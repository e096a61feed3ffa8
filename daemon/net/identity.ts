/**
 * The node's libp2p identity: an Ed25519 key distinct from the attestation signing key
 * (a peer id says who is connected, never who is trusted). Persisted as base64 protobuf in a
 * 0600 file, created on first start.
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { readKeyFile, writeKeyFile } from '../keyfile.ts';
import { DaemonError } from '../errors.ts';
import { access } from 'node:fs/promises';

export async function loadOrCreateIdentity(path: string): Promise<PrivateKey> {
  const exists = await access(path).then(() => true, () => false);
  if (!exists) {
    const key = await generateKeyPair('Ed25519');
    await writeKeyFile(path, Buffer.from(privateKeyToProtobuf(key)).toString('base64') + '\n');
    return key;
  }
  const text = (await readKeyFile(path)).trim();
  try {
    return privateKeyFromProtobuf(Buffer.from(text, 'base64'));
  } catch (error) {
    throw new DaemonError('KEY_FILE', `libp2p identity ${path}: expected a base64 libp2p private key (${(error as Error).message})`);
  }
}
