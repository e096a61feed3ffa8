/**
 * The pinned ed25519 verify rule (DESIGN section 4). Provisional fast path; see the tests.
 */
import { createPublicKey, verify } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { ProtocolError } from './errors.ts';

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Refuses keys that are not canonical, of small order or not torsion-free. */
export function checkPublicKey(publicKey: Uint8Array, where: string): void {
  if (publicKey.length !== 32) throw new ProtocolError('BAD_KEY', `${where}: expected a 32-byte ed25519 public key, got ${publicKey.length} bytes`);
  let point;
  try {
    point = ed.Point.fromBytes(publicKey, false);
  } catch {
    throw new ProtocolError('BAD_KEY', `${where}: not a canonical ed25519 point encoding`);
  }
  if (point.isSmallOrder() || !point.isTorsionFree()) throw new ProtocolError('BAD_KEY', `${where}: weak ed25519 public key (small order or torsion component)`);
}

export function createVerifier(publicKey: Uint8Array): (message: Uint8Array, signature: Uint8Array) => boolean {
  const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
  return (message, signature) => signature.length === 64 && verify(null, message, key, signature);
}
