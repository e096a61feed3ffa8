/**
 * What a hostile peer can make without any trusted key, as bytes (the flood test's attacks 1
 * and 2): re-encodings of one public attestation that a signature does not cover, keyless and
 * forged signatures, unknown keyids, oversize and garbage messages. Pure: `n` numbers the
 * message so that every one is distinct (a new gossip message id each time).
 */
import { randomBytes } from 'node:crypto';
import type { Envelope } from '../../protocol/dsse.ts';

const json = (value: unknown) => new Uint8Array(Buffer.from(JSON.stringify(value)));
const urlSafe = (base64: string) => base64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const randomB64 = (bytes: number) => randomBytes(bytes).toString('base64');

/**
 * The `n`th re-encoding of a canonical envelope: every one verifies under the signer's key and
 * reduces to the same canonical bytes, but none is those bytes. Rotates through an extra field,
 * re-ordered keys with whitespace, URL-safe unpadded base64, a duplicated signature, an extra
 * signature under a random keyid, and an extra field inside the signature.
 */
export function variant(envelope: Envelope, n: number): Uint8Array {
  const [signature] = envelope.signatures;
  switch (n % 6) {
    case 0:
      return json({ ...envelope, nonce: n });
    case 1:
      return new Uint8Array(Buffer.from(`{${' '.repeat(1 + (n % 64))}` + JSON.stringify({ signatures: envelope.signatures, payload: envelope.payload, payloadType: envelope.payloadType, n }).slice(1)));
    case 2:
      return json({ payloadType: envelope.payloadType, payload: urlSafe(envelope.payload), signatures: envelope.signatures.map((s) => ({ ...s, sig: urlSafe(s.sig) })), n });
    case 3:
      return json({ ...envelope, signatures: [signature, signature], n });
    case 4:
      return json({ ...envelope, signatures: [signature, { keyid: randomBytes(32).toString('hex'), sig: randomB64(64) }], n });
    default:
      return json({ ...envelope, signatures: [{ ...signature, note: n }] });
  }
}

/** Sixteen signatures without a keyid (or one, every other message): Rejected before any verification. */
export function keyless(envelope: Envelope, n: number): Uint8Array {
  const count = n % 2 === 0 ? 16 : 1;
  return json({ payloadType: envelope.payloadType, payload: envelope.payload, signatures: Array.from({ length: count }, () => ({ sig: randomB64(64) })) });
}

/**
 * Canonical bytes of a distinct payload with a random signature under `keyid`: under a
 * trusted keyid it costs one verification and is Rejected; under an unknown one it is
 * Ignored without any.
 */
export function forged(envelope: Envelope, keyid: string, n: number): Uint8Array {
  const payload = Buffer.concat([Buffer.from(envelope.payload, 'base64'), Buffer.from(` ${n}`)]).toString('base64');
  return json({ payloadType: envelope.payloadType, payload, signatures: [{ keyid, sig: randomB64(64) }] });
}

/** A message past the 64 KiB gossip limit. */
export function oversize(envelope: Envelope, n: number): Uint8Array {
  return json({ ...envelope, padding: 'x'.repeat(70 * 1024 + (n % 1024)) });
}

/** Random bytes, or JSON that is no envelope. */
export function garbage(n: number): Uint8Array {
  return n % 2 === 0 ? new Uint8Array(randomBytes(1 + (n % 2000))) : json({ hello: n, signatures: 'none' });
}

export const randomKeyid = () => randomBytes(32).toString('hex');
