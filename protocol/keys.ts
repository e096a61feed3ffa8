/**
 * ed25519 keys (DESIGN section 4): generation and signing with @noble/ed25519 (a seed's public
 * key with node:crypto), the keyid, PKCS#8 PEM private keys (RFC 8410), and the Signer
 * interface every signature goes through. Verification is protocol/ed25519.ts.
 */
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { sha256Hex } from './encoding.ts';
import { ProtocolError } from './errors.ts';

// noble's synchronous API (getPublicKey, sign) needs a SHA-512 provider; node:crypto's is fastest.
ed.hashes.sha512 = (message: Uint8Array) => new Uint8Array(createHash('sha512').update(message).digest());

/**
 * Signs PAE bytes (DESIGN section 4). A 0600 seed file by default (createSeedSigner); an
 * external command (smart card, gpg-agent: daemon/signer/command.ts) implements the same
 * interface. Asynchronous because a card may wait seconds for a touch.
 */
export interface Signer {
  /** The raw 32-byte ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** keyidOf(publicKey). */
  readonly keyid: string;
  /** The 64-byte ed25519 signature of `message`. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** A signer whose seed is in this process: it can also sign synchronously (pure code, tests). */
export interface SeedSigner extends Signer {
  signNow(message: Uint8Array): Uint8Array;
}

/**
 * A key whose signatures are made on another machine (offline signing, DESIGN section 4):
 * statements wait to be exported, signed there and imported. It has no sign method, so no
 * code path can mistake it for a signer.
 */
export interface OfflineKey {
  readonly publicKey: Uint8Array;
  readonly keyid: string;
  readonly offline: true;
}

/** 32 random bytes from the system's CSPRNG: an RFC 8032 private key (seed). */
export function generateSeed(): Uint8Array {
  return ed.utils.randomSecretKey();
}

export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  checkSeed(seed);
  return derivePublicKey(seed);
}

/**
 * The raw public key of a checked seed, by node:crypto (OpenSSL, RFC 8032 5.1.5): noble's
 * getPublicKey first builds its base-point table, ~30 ms of CPU that a process which loads
 * its key but never signs (`verify`, `plan` with a config) would spend for nothing.
 */
function derivePublicKey(seed: Uint8Array): Uint8Array {
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  return new Uint8Array(Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x!, 'base64url'));
}

/** Lowercase hex sha256 of the raw 32-byte public key (DESIGN section 4). */
export function keyidOf(publicKey: Uint8Array): string {
  return sha256Hex(publicKey);
}

/** A signer holding the seed in memory (its own copy). */
export function createSeedSigner(seed: Uint8Array): SeedSigner {
  checkSeed(seed);
  const secret = Uint8Array.from(seed);
  const publicKey = derivePublicKey(secret);
  const signNow = (message: Uint8Array) => ed.sign(message, secret);
  return { publicKey, keyid: keyidOf(publicKey), signNow, sign: async (message) => signNow(message) };
}

function checkSeed(seed: Uint8Array): void {
  if (seed.length !== 32) throw new ProtocolError('BAD_KEY', `ed25519 seed: expected 32 bytes, got ${seed.length}`);
}

/** DER of a PKCS#8 OneAsymmetricKey v1 for Ed25519 (RFC 8410 section 7) before the 32-byte seed. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const PEM = /^-----BEGIN PRIVATE KEY-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END PRIVATE KEY-----$/;

/** The seed as PKCS#8 PEM, as `openssl genpkey -algorithm ed25519` writes it. */
export function encodePrivateKeyPem(seed: Uint8Array): string {
  checkSeed(seed);
  const der = Buffer.concat([PKCS8_PREFIX, seed]).toString('base64');
  return `-----BEGIN PRIVATE KEY-----\n${der}\n-----END PRIVATE KEY-----\n`;
}

/** The seed of an Ed25519 PKCS#8 PEM private key; anything else is BAD_KEY. */
export function decodePrivateKeyPem(text: string, where: string): Uint8Array {
  const expected = 'expected an Ed25519 PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----, 48 DER bytes, RFC 8410)';
  const match = PEM.exec(text.trim());
  if (!match) throw new ProtocolError('BAD_KEY', `${where}: ${expected}, got no such PEM block`);
  const der = Buffer.from(match[1]!.replace(/\s/g, ''), 'base64');
  if (der.length !== PKCS8_PREFIX.length + 32 || !der.subarray(0, PKCS8_PREFIX.length).equals(PKCS8_PREFIX)) {
    throw new ProtocolError('BAD_KEY', `${where}: ${expected}, got ${der.length} DER bytes of another key type or encoding`);
  }
  return new Uint8Array(der.subarray(PKCS8_PREFIX.length));
}
