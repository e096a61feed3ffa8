/**
 * The one ed25519 verify rule every stagex-node accepts signatures by (DESIGN section 4): M-of-N
 * counts only agree between nodes if every node accepts exactly the same signatures.
 *
 * Pinned rule: strict RFC 8032 (section 5.1.7), cofactorless.
 * - the public key A is a canonical encoding of a point that is neither of small order nor has a
 *   torsion component ([L]A = identity); checked once, when a key is loaded or trusted;
 * - the signature is 64 bytes R || S, with S < L, and R is not the encoding of the identity;
 * - the 32 bytes of encode([S]B - [k]A) equal R, where k = SHA-512(R || A || M) mod L, all as
 *   received. R is never decoded: a non-canonical or invalid R can never equal an encoding.
 *
 * Why R = identity is refused: [S]B - [k]A lies in the prime-order subgroup, so the identity is
 * the only small-order R the equation can meet; only the key holder can make such a signature
 * (S = k * a). Node 24's verify refuses small-order R (libsodium does too), Node 20's accepts it;
 * refusing it by a byte compare keeps every node's answer the same, and costs nothing, where
 * deciding it with point arithmetic would let anyone make a node spend ~1 ms per forgery.
 *
 * `verifyReference` writes the rule out with @noble/ed25519's point arithmetic. `createVerifier`
 * is the fast path: node:crypto (OpenSSL) behind the key check, a length check, the S < L check
 * and the R check. Both paths agree on the vectors in test/vectors (RFC 8032, "Taming the many
 * EdDSAs", Wycheproof, ZIP 215) and on random, tampered and identity-R signatures.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { ProtocolError } from './errors.ts';

/** The prime order of the base point B (RFC 8032 section 5.1). */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
/** L as 32 little-endian bytes, for the byte-wise S < L check of the fast path. */
const L_BYTES = littleEndianBytes(L);
/** DER SubjectPublicKeyInfo of an Ed25519 key (RFC 8410 section 4) before the 32 key bytes. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** encode(identity): the one small-order R the cofactorless equation can meet with a prime-order A; refused. */
const IDENTITY = littleEndianBytes(1n);

/** Verifies one trusted key's signatures: true only when the pinned rule accepts. */
export type Verifier = (message: Uint8Array, signature: Uint8Array) => boolean;

/**
 * Throws BAD_KEY unless `publicKey` is a canonical encoding of a prime-order ed25519 point:
 * 32 bytes, y < p, no sign bit on x = 0, on the curve, not of small order, torsion-free.
 */
export function checkPublicKey(publicKey: Uint8Array, where: string): void {
  decodePublicKey(publicKey, where);
}

/** The pinned rule as it reads, with point arithmetic: slow, and obviously the rule. */
export function verifyReference(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  let A: ed.Point;
  try {
    A = decodePublicKey(publicKey, 'ed25519 public key');
  } catch {
    return false;
  }
  if (signature.length !== 64 || bytesEqual(signature.subarray(0, 32), IDENTITY)) return false;
  const S = littleEndian(signature.subarray(32));
  return S < L && equationHolds(A, publicKey, message, signature, S);
}

/**
 * The fast path for one key, used everywhere a signature is checked: the key is checked once
 * (BAD_KEY) and its KeyObject built once; each call costs one node:crypto verify.
 */
export function createVerifier(publicKey: Uint8Array): Verifier {
  decodePublicKey(publicKey, 'ed25519 verifier');
  const keyObject = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
  return (message, signature) => {
    if (signature.length !== 64 || !scalarBelowL(signature) || bytesEqual(signature.subarray(0, 32), IDENTITY)) return false;
    return verify(null, message, keyObject, signature);
  };
}

/** The key checks of the rule, each with its own message. */
function decodePublicKey(publicKey: Uint8Array, where: string): ed.Point {
  if (publicKey.length !== 32) {
    throw new ProtocolError('BAD_KEY', `${where}: expected a 32-byte ed25519 public key, got ${publicKey.length} bytes`);
  }
  let point: ed.Point;
  try {
    point = ed.Point.fromBytes(publicKey, false);
  } catch {
    throw new ProtocolError('BAD_KEY', isLenientPoint(publicKey)
      ? `${where}: expected a canonical ed25519 point encoding, got a non-canonical one (y >= p, or x = 0 with its sign bit set)`
      : `${where}: expected an ed25519 point, got 32 bytes that encode no point of the curve`);
  }
  if (point.isSmallOrder()) {
    throw new ProtocolError('BAD_KEY', `${where}: expected a prime-order ed25519 public key, got a point of small order`);
  }
  if (!point.isTorsionFree()) {
    throw new ProtocolError('BAD_KEY', `${where}: expected a prime-order ed25519 public key, got a point with a torsion component`);
  }
  return point;
}

function isLenientPoint(bytes: Uint8Array): boolean {
  try {
    ed.Point.fromBytes(bytes, true);
    return true;
  } catch {
    return false;
  }
}

/** encode([S]B - [k]A) = R, with k = SHA-512(R || A || M) mod L over the bytes as received. */
function equationHolds(A: ed.Point, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, S: bigint): boolean {
  const R = signature.subarray(0, 32);
  const k = littleEndian(createHash('sha512').update(R).update(publicKey).update(message).digest()) % L;
  return bytesEqual(ed.Point.BASE.multiply(S, false).subtract(A.multiply(k, false)).toBytes(), R);
}

/** S < L, comparing S (bytes 32-63, little-endian) from its most significant byte down. */
function scalarBelowL(signature: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const s = signature[32 + i]!;
    if (s !== L_BYTES[i]) return s < L_BYTES[i]!;
  }
  return false;
}

function littleEndian(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

function littleEndianBytes(n: bigint): Uint8Array {
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++, n >>= 8n) bytes[i] = Number(n & 0xffn);
  return bytes;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
