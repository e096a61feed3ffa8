/**
 * OpenPGP through openpgp.js (>= 6.1.1: earlier versions let the literal data of an inline-signed
 * message be altered while its signature still verified, GHSA-8qff-qr5q-5pr8): the configured
 * signers' certificates, and StageX signature files (DESIGN section 4) read and verified against
 * them. A signature made by a signing subkey counts for its primary key: a signer is its primary
 * fingerprint. Loaded only by commands that use it.
 */
import { readFile } from 'node:fs/promises';
import * as openpgp from 'openpgp';
import { fingerprintOf } from '../protocol/trust.ts';
import { MAX_SIGNATURE_BYTES } from '../protocol/stagex-signature.ts';
import { DaemonError } from './errors.ts';

/** A certificate file larger than this is refused (real ones with many signatures are ~100 KiB). */
const MAX_CERTIFICATE_BYTES = 4 * 1024 * 1024;

/**
 * openpgp.js settings for reading what files and peers send: a compressed packet may not inflate
 * past 1 MiB (a 64 KiB bzip2 bomb would otherwise take gigabytes); the library's defaults refuse
 * weak algorithms (RSA under 2047 bits, MD5, RIPEMD-160, SHA-1 message signatures).
 */
const READ_CONFIG = { maxDecompressedMessageSize: 1024 * 1024 } as const;

export interface Certificate {
  /** lowercase hex primary fingerprint */
  fingerprint: string;
  signer: string;
  key: openpgp.PublicKey;
}

/** The configured signers' OpenPGP certificates. */
export interface Keyring {
  certificates: readonly Certificate[];
}

export interface CertificateSource {
  signer: string;
  fingerprint: string;
  /** Absolute path of the certificate file. */
  certificate: string;
  /** The config field, for messages: `trust.keys[1].openpgp[0]`. */
  field: string;
}

/**
 * Reads each certificate (armored or binary; a secret key file gives its public part). A file
 * that cannot be read, holds no key, or whose primary fingerprint is not the configured one is
 * a BAD_CONFIG naming the field.
 */
export async function loadKeyring(sources: readonly CertificateSource[], configFile: string): Promise<Keyring> {
  const certificates: Certificate[] = [];
  for (const source of sources) {
    const where = `config ${configFile}: ${source.field}.certificate (${source.certificate})`;
    const bytes = await readFile(source.certificate).catch((error: NodeJS.ErrnoException) => {
      throw new DaemonError('BAD_CONFIG', `${where}: cannot read (${error.code ?? error.message})`);
    });
    if (bytes.length > MAX_CERTIFICATE_BYTES) throw new DaemonError('BAD_CONFIG', `${where}: expected at most ${MAX_CERTIFICATE_BYTES} bytes, got ${bytes.length}`);
    let keys: openpgp.Key[];
    try {
      const text = bytes.subarray(0, 64).toString('latin1');
      keys = text.includes('-----BEGIN PGP')
        ? await openpgp.readKeys({ armoredKeys: bytes.toString('utf8'), config: READ_CONFIG })
        : await openpgp.readKeys({ binaryKeys: new Uint8Array(bytes), config: READ_CONFIG });
    } catch (error) {
      throw new DaemonError('BAD_CONFIG', `${where}: expected an OpenPGP public key (armored or binary), got unreadable data (${(error as Error).message})`);
    }
    const wanted = fingerprintOf(source.fingerprint, `config ${configFile}: ${source.field}.fingerprint`);
    const key = keys.find((k) => k.getFingerprint() === wanted);
    if (!key) {
      throw new DaemonError('BAD_CONFIG', `${where}: expected the certificate of primary key ${source.fingerprint} (${source.field}.fingerprint), got ${keys.map((k) => k.getFingerprint().toUpperCase()).join(', ') || 'no key'}`);
    }
    certificates.push({ fingerprint: wanted, signer: source.signer, key: key.isPrivate() ? key.toPublic() : key });
  }
  return { certificates };
}

/** What a signature file says before any verification: for reports and for reading legacy files. */
export interface SignatureFileFacts {
  /** The literal data: the payload, unverified. */
  literal: Uint8Array;
  /** The issuer key id, 16 lowercase hex. */
  issuerKeyId: string;
  /** The issuer fingerprint subpacket (the signing key's, a subkey's when a subkey signed), when present. */
  issuerFingerprint?: string;
  created: Date;
}

/**
 * Reads a signed message (binary, or armored) without verifying it. Throws DaemonError
 * BAD_SIGNATURE_FILE for anything that is not exactly one literal data packet under exactly one
 * signature (compressed or not).
 */
export async function readSignatureFile(bytes: Uint8Array, where: string): Promise<SignatureFileFacts> {
  if (bytes.length > MAX_SIGNATURE_BYTES) throw bad(where, `expected at most ${MAX_SIGNATURE_BYTES} bytes, got ${bytes.length}`);
  let literal: Uint8Array;
  let signatures: openpgp.SignaturePacket[];
  try {
    // openpgp.js reads the packets of a compressed message lazily: verifying with no key is
    // what reads them all, checks there is one literal data packet, and pairs the signatures.
    const result = await openpgp.verify({ message: await messageOf(bytes), verificationKeys: [], format: 'binary', config: READ_CONFIG });
    literal = result.data;
    signatures = (await Promise.all(result.signatures.map((s) => s.signature))).flatMap((s) => [...s.packets]);
  } catch (error) {
    throw bad(where, `expected an OpenPGP signed message (gpg --sign) of one literal data packet, got unreadable data (${(error as Error).message})`);
  }
  if (signatures.length !== 1) throw bad(where, `expected one signature, got ${signatures.length}`);
  const signature = signatures[0]!;
  const issuerFingerprint = signature.issuerFingerprint ? Buffer.from(signature.issuerFingerprint).toString('hex') : undefined;
  const created = signature.created;
  if (!(created instanceof Date)) throw bad(where, 'expected a signature creation time, got none');
  return { literal, issuerKeyId: signature.issuerKeyID.toHex(), ...(issuerFingerprint ? { issuerFingerprint } : {}), created };
}

/** A message from its bytes: binary as sign.sh writes, or armored. */
function messageOf(bytes: Uint8Array): Promise<openpgp.Message<Uint8Array>> {
  const head = Buffer.from(bytes.subarray(0, 64)).toString('latin1');
  return head.startsWith('-----BEGIN PGP MESSAGE')
    ? openpgp.readMessage({ armoredMessage: Buffer.from(bytes).toString('utf8'), config: READ_CONFIG }) as unknown as Promise<openpgp.Message<Uint8Array>>
    : openpgp.readMessage({ binaryMessage: bytes, config: READ_CONFIG });
}

export type SignatureCheck =
  | { status: 'valid'; facts: SignatureFileFacts; payload: Uint8Array; certificate: Certificate }
  | { status: 'unknown-signer'; facts: SignatureFileFacts };

/**
 * Verifies a signature file against the keyring at `now` (the signature may not be from the
 * future, and its signing key, primary or subkey, must have been valid when it signed). Returns
 * the verified payload bytes and the primary key's certificate, or `unknown-signer` when no
 * configured certificate holds the issuer key: no verification is attempted then. Throws
 * BAD_SIGNATURE_FILE (unreadable) or BAD_SIGNATURE (does not verify).
 */
export async function checkSignatureFile(bytes: Uint8Array, keyring: Keyring, now: Date, where: string): Promise<SignatureCheck> {
  const facts = await readSignatureFile(bytes, where);
  const certificate = keyring.certificates.find((c) => keyWithId(c.key, facts.issuerKeyId));
  if (!certificate) return { status: 'unknown-signer', facts };
  const signingKey = keyWithId(certificate.key, facts.issuerKeyId)!;
  if (facts.issuerFingerprint && facts.issuerFingerprint !== signingKey.getFingerprint()) {
    throw new DaemonError('BAD_SIGNATURE', `${where}: issuer fingerprint ${facts.issuerFingerprint} is not that of key ${facts.issuerKeyId} in ${certificate.signer}'s certificate (${signingKey.getFingerprint()})`);
  }
  try {
    const result = await openpgp.verify({ message: await messageOf(bytes), verificationKeys: [certificate.key], expectSigned: true, format: 'binary', date: now, config: READ_CONFIG });
    await result.signatures[0]!.verified;
    return { status: 'valid', facts, payload: result.data, certificate };
  } catch (error) {
    throw new DaemonError('BAD_SIGNATURE', `${where}: signature by ${certificate.signer} (key ${facts.issuerKeyId}) does not verify: ${(error as Error).message}`);
  }
}

/** The primary key or subkey of a certificate with this key id (16 lowercase hex). */
export function keyWithId(key: openpgp.PublicKey, keyId: string): openpgp.PublicKey | openpgp.Subkey | undefined {
  return key.getKeys().find((k) => k.getKeyID().toHex() === keyId);
}

function bad(where: string, what: string): DaemonError {
  return new DaemonError('BAD_SIGNATURE_FILE', `${where}: ${what}`);
}
