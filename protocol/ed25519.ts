/**
 * The one ed25519 verify rule every stagex-node accepts signatures by (DESIGN section 4):
 * M-of-N counts only agree between nodes if every node accepts exactly the same signatures.
 *
 * Pinned rule: strict RFC 8032 section 5.1.7, cofactorless.
 * - the public key A is a canonical encoding of a point that is neither of small order nor
 *   carrying a torsion component ([L]A = identity); checked once, when a key is trusted;
 * - the signature is 64 bytes R || S with S < L;
 * - encode([S]B - [k]A) equals the R bytes, k = SHA-512(R || A || M) mod L (so R must be a
 *   canonical encoding too).
 * `verifyReference` writes this rule out with @noble/ed25519's point arithmetic; the fast path
 * `createVerifier` is node:crypto (OpenSSL, ~14x faster) after the key check and an S < L check.
 * Both agree on every vector of test/vectors/ed25519-edge-cases.json ("Taming the many
 * EdDSAs", RFC 8032) and on random and tampered signatures (test/protocol/ed25519.test.ts).
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { ProtocolError } from './errors.ts';

/** The order of the prime-order subgroup. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function littleEndian(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

/** S < L, read from the second half of the signature. */
function canonicalS(signature: Uint8Array): boolean {
  return littleEndian(signature.subarray(32, 64)) < L;
}

/** Throws BAD_KEY unless the key is a canonical, prime-order-subgroup ed25519 point. */
export function checkPublicKey(publicKey: Uint8Array, where: string): void {
  if (publicKey.length !== 32) throw new ProtocolError('BAD_KEY', `${where}: expected a 32-byte ed25519 public key, got ${publicKey.length} bytes`);
  let point: ed.Point;
  try {
    point = ed.Point.fromBytes(publicKey, false);
  } catch {
    throw new ProtocolError('BAD_KEY', `${where}: not a canonical ed25519 point encoding`);
  }
  if (point.isSmallOrder()) throw new ProtocolError('BAD_KEY', `${where}: weak ed25519 public key: a point of small order`);
  if (!point.isTorsionFree()) throw new ProtocolError('BAD_KEY', `${where}: weak ed25519 public key: has a torsion component`);
}

function acceptsKey(publicKey: Uint8Array): boolean {
  try {
    checkPublicKey(publicKey, 'key');
    return true;
  } catch {
    return false;
  }
}

/** The pinned rule written out with point arithmetic: slow, obviously the rule. */
export function verifyReference(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64 || !acceptsKey(publicKey) || !canonicalS(signature)) return false;
  const A = ed.Point.fromBytes(publicKey, false);
  const R = signature.subarray(0, 32);
  const k = littleEndian(createHash('sha512').update(R).update(publicKey).update(message).digest()) % L;
  const S = littleEndian(signature.subarray(32));
  const expected = ed.Point.BASE.multiplyUnsafe(S).subtract(A.multiplyUnsafe(k));
  return Buffer.from(expected.toBytes()).equals(R);
}

/**
 * The fast path for one trusted key: checks the key once (BAD_KEY), then verifies with
 * node:crypto. OpenSSL's verify is cofactorless and compares R bytes; it does not check S < L
 * on every version, so that check is done here.
 */
export function createVerifier(publicKey: Uint8Array): (message: Uint8Array, signature: Uint8Array) => boolean {
  checkPublicKey(publicKey, 'ed25519 verifier');
  const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
  return (message, signature) => signature.length === 64 && canonicalS(signature) && verify(null, message, key, signature);
}
