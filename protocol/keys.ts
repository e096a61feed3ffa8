/**
 * ed25519 keys (DESIGN section 4): generation and signing with @noble/ed25519, the keyid,
 * PKCS#8 PEM private keys (RFC 8410), and the Signer interface every signature goes through.
 */
import { createHash } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { sha256Hex } from './encoding.ts';
import { ProtocolError } from './errors.ts';

ed.hashes.sha512 = (message: Uint8Array) => new Uint8Array(createHash('sha512').update(message).digest());

/** Signs PAE bytes. A 0600 key file by default; smart cards or offline signers plug in here. */
export interface Signer {
  readonly publicKey: Uint8Array;
  readonly keyid: string;
  sign(message: Uint8Array): Uint8Array;
}

export function generateSeed(): Uint8Array {
  return ed.utils.randomSecretKey();
}

export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  return ed.getPublicKey(seed);
}

/** Lowercase hex sha256 of the raw 32-byte public key. */
export function keyidOf(publicKey: Uint8Array): string {
  return sha256Hex(publicKey);
}

export function createSeedSigner(seed: Uint8Array): Signer {
  if (seed.length !== 32) throw new ProtocolError('BAD_KEY', `ed25519 seed: expected 32 bytes, got ${seed.length}`);
  const publicKey = publicKeyFromSeed(seed);
  return { publicKey, keyid: keyidOf(publicKey), sign: (message) => ed.sign(message, seed) };
}

/** DER of PKCS#8 OneAsymmetricKey for Ed25519 (RFC 8410 section 7) before the 32-byte seed. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const PEM = /^-----BEGIN PRIVATE KEY-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END PRIVATE KEY-----\r?\n?$/;

export function encodePrivateKeyPem(seed: Uint8Array): string {
  const der = Buffer.concat([PKCS8_PREFIX, seed]).toString('base64');
  return `-----BEGIN PRIVATE KEY-----\n${der}\n-----END PRIVATE KEY-----\n`;
}

export function decodePrivateKeyPem(text: string, where: string): Uint8Array {
  const match = PEM.exec(text.trim() + '\n');
  const der = match ? Buffer.from(match[1]!.replace(/\s/g, ''), 'base64') : undefined;
  if (!der || der.length !== PKCS8_PREFIX.length + 32 || !der.subarray(0, PKCS8_PREFIX.length).equals(PKCS8_PREFIX)) {
    throw new ProtocolError('BAD_KEY', `${where}: expected an Ed25519 PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----, 48 DER bytes)`);
  }
  return new Uint8Array(der.subarray(PKCS8_PREFIX.length));
}
