/**
 * DSSE envelopes (https://github.com/secure-systems-lab/dsse, protocol.md): the signed wrapper
 * of every attestation (DESIGN section 4). Signatures cover the pre-authentication encoding of
 * the exact payload bytes; a verifier checks those bytes and parses them only afterwards.
 */
import { z } from 'zod';
import { asBuffer, fromBase64, sha256Hex, toBase64, utf8 } from './encoding.ts';
import { ProtocolError } from './errors.ts';
import type { Signer } from './keys.ts';

/** Largest envelope accepted from anywhere (DESIGN section 6: gossip message limit). */
export const MAX_ENVELOPE_BYTES = 64 * 1024;
/** More signatures than this on one envelope is abuse, not co-signing. */
export const MAX_SIGNATURES = 16;

export const envelopeSchema = z.object({
  payloadType: z.string().min(1).max(256),
  payload: z.string(),
  signatures: z.array(z.object({ keyid: z.string().max(128).optional(), sig: z.string().min(1).max(256) })).min(1).max(MAX_SIGNATURES),
});
export type Envelope = z.infer<typeof envelopeSchema>;

/** `"DSSEv1" SP len(type) SP type SP len(body) SP body`, lengths in UTF-8 bytes. */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Uint8Array {
  const head = `DSSEv1 ${Buffer.byteLength(payloadType, 'utf8')} ${payloadType} ${payload.length} `;
  const size = Buffer.byteLength(head, 'utf8');
  const pae = new Uint8Array(size + payload.length);
  asBuffer(pae).write(head, 0, size, 'utf8');
  pae.set(payload, size);
  return pae;
}

/** One signature over the PAE of a payload, by the key `keyid` names. */
export interface Signature {
  keyid: string;
  sig: Uint8Array;
}

/** Assembles an envelope from payload bytes and signatures made over their PAE (here or elsewhere). */
export function envelopeOf(payloadType: string, payload: Uint8Array, signatures: readonly Signature[]): Envelope {
  return { payloadType, payload: toBase64(payload), signatures: signatures.map((s) => ({ keyid: s.keyid, sig: toBase64(s.sig) })) };
}

/** Signs payload bytes with each signer, one after another; keyid is the signer's own (sha256 of its public key). */
export async function signEnvelope(payloadType: string, payload: Uint8Array, signers: readonly Signer[]): Promise<Envelope> {
  const pae = preAuthEncoding(payloadType, payload);
  const signatures: Signature[] = [];
  for (const signer of signers) signatures.push({ keyid: signer.keyid, sig: await signer.sign(pae) });
  return envelopeOf(payloadType, payload, signatures);
}

/**
 * The canonical bytes of an envelope (DESIGN section 4): what is stored, forwarded and hashed.
 * Fields in this order and no other (`payloadType`, `payload`, `signatures` of `keyid`, `sig`),
 * standard padded base64, signatures sorted by keyid, no whitespace. Decoding and re-encoding
 * erases every freedom JSON and base64 leave a sender (extra fields, padding, alphabet, order),
 * so unsigned bytes cannot make two envelopes of one signature.
 */
export function canonicalBytes(payloadType: string, payload: Uint8Array, signatures: readonly Signature[]): Uint8Array {
  const sorted = signatures.length === 1 ? signatures : [...signatures].sort((a, b) => (a.keyid < b.keyid ? -1 : a.keyid > b.keyid ? 1 : 0));
  // What JSON.stringify of { payloadType, payload, signatures: [{ keyid, sig }] } gives, written
  // out: base64 needs no escaping, the strings from outside are escaped by JSON.stringify.
  const signed = sorted.map((s) => `{"keyid":${JSON.stringify(s.keyid)},"sig":"${toBase64(s.sig)}"}`).join(',');
  const json = `{"payloadType":${JSON.stringify(payloadType)},"payload":"${toBase64(payload)}","signatures":[${signed}]}`;
  const bytes = Buffer.from(json, 'utf8');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The canonical bytes of an envelope this node assembled (every keyid present). */
export function encodeEnvelope(envelope: Envelope): Uint8Array {
  const signatures = envelope.signatures.map((s, i) => ({ keyid: signatureKeyid(s, i, 'envelope'), sig: fromBase64(s.sig, `envelope: signatures[${i}].sig`) }));
  return canonicalBytes(envelope.payloadType, fromBase64(envelope.payload, 'envelope: payload'), signatures);
}

/** A signature's keyid: required, since a signature without one would have to be tried against every key. */
export function signatureKeyid(signature: Envelope['signatures'][number], index: number, where: string): string {
  if (!signature.keyid) {
    throw new ProtocolError('MISSING_KEYID', `${where}: signatures[${index}].keyid: expected the keyid of the signing key, got none`);
  }
  return signature.keyid;
}

export function envelopeHash(bytes: Uint8Array): string {
  return sha256Hex(bytes);
}

/** Size -> JSON -> schema. Every failure is BAD_ENVELOPE naming where it came from. */
export function parseEnvelope(bytes: Uint8Array, where: string): Envelope {
  if (bytes.length > MAX_ENVELOPE_BYTES) {
    throw new ProtocolError('BAD_ENVELOPE', `${where}: envelope too large: expected at most ${MAX_ENVELOPE_BYTES} bytes, got ${bytes.length}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(utf8(bytes));
  } catch (error) {
    throw new ProtocolError('BAD_ENVELOPE', `${where}: expected a JSON DSSE envelope, got unparseable JSON (${(error as Error).message})`);
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') || '(root)';
    throw new ProtocolError('BAD_ENVELOPE', `${where}: not a DSSE envelope: at ${path}: ${issue?.message}`);
  }
  return parsed.data;
}

/**
 * Whether `bytes` are an envelope in canonical form (canonicalBytes) by structure alone: every
 * signature has a keyid, keyids are distinct and sorted, base64 is standard and padded, no other
 * field, no other spacing. What an honest node stores and serves always is, whichever keys it
 * trusts (its extra signatures are still one per key, sorted); re-encoded bytes of the same
 * signatures never are. Verifies nothing.
 */
export function isCanonicalForm(bytes: Uint8Array): boolean {
  let envelope: Envelope;
  try {
    envelope = parseEnvelope(bytes, 'canonical check');
  } catch {
    return false;
  }
  const keyids = envelope.signatures.map((s) => s.keyid);
  if (keyids.some((k, i) => k === undefined || (i > 0 && keyids[i - 1]! >= k))) return false;
  try {
    const payload = fromBase64(envelope.payload, 'payload');
    const signatures = envelope.signatures.map((s) => ({ keyid: s.keyid!, sig: fromBase64(s.sig, 'sig') }));
    return Buffer.from(canonicalBytes(envelope.payloadType, payload, signatures)).equals(bytes);
  } catch {
    return false;
  }
}

/** A public key the verifier knows, with its fast verify function (protocol/ed25519.ts). */
export interface KnownKey {
  readonly keyid: string;
  readonly verify: (message: Uint8Array, signature: Uint8Array) => boolean;
}

export interface VerifiedEnvelope {
  /** The exact payload bytes that the signatures cover. */
  readonly payload: Uint8Array;
  /** Distinct keyids (computed from the key, not read from the envelope) whose signature holds, sorted. */
  readonly keyids: readonly string[];
  /** The canonical form: the payload and one verified signature per known key (canonicalBytes). */
  readonly bytes: Uint8Array;
  /** sha256 of `bytes`: the envelope's id. */
  readonly hash: string;
}

/**
 * Verifies an envelope against the keys the caller knows and reduces it to its canonical form
 * (DESIGN section 4). Every signature must carry a keyid (MISSING_KEYID, checked before any
 * verification): a keyless one would have to be tried against every key. The keyid only
 * selects a key, and the signature must hold under that key's bytes; a keyid naming no known
 * key is dropped without verification, so a peer cannot make us try N keys per signature nor
 * spend anything on keys we do not know. Per key, candidate signatures are tried in byte order
 * and the first that holds is kept, so the result depends on the set of signatures received,
 * never on their order or on what else came with them.
 * Throws UNSUPPORTED_PAYLOAD_TYPE, MISSING_KEYID, BAD_ENCODING, UNKNOWN_SIGNER (no signature
 * by a known key) or BAD_SIGNATURE (no known key's signature holds).
 */
export function verifyEnvelope(envelope: Envelope, keys: ReadonlyMap<string, KnownKey>, expectedType: string, where: string): VerifiedEnvelope {
  if (envelope.payloadType !== expectedType) {
    throw new ProtocolError('UNSUPPORTED_PAYLOAD_TYPE', `${where}: expected payloadType ${expectedType}, got ${JSON.stringify(envelope.payloadType.slice(0, 80))}`);
  }
  const keyids = envelope.signatures.map((s, i) => signatureKeyid(s, i, where));
  const payload = fromBase64(envelope.payload, `${where}: payload`);
  const candidates = new Map<string, Uint8Array[]>();
  envelope.signatures.forEach((signature, i) => {
    const keyid = keyids[i]!;
    if (!keys.has(keyid)) return;
    candidates.set(keyid, [...(candidates.get(keyid) ?? []), fromBase64(signature.sig, `${where}: signatures[${i}].sig`)]);
  });
  if (candidates.size === 0) {
    throw new ProtocolError('UNKNOWN_SIGNER', `${where}: signed by no known key (keyids ${keyids.map((k) => k.slice(0, 80)).join(', ')})`);
  }
  const pae = preAuthEncoding(envelope.payloadType, payload);
  const valid: Signature[] = [];
  for (const [keyid, sigs] of candidates) {
    const key = keys.get(keyid)!;
    const sig = sigs.sort(Buffer.compare).find((s) => key.verify(pae, s));
    if (sig) valid.push({ keyid, sig });
  }
  if (valid.length === 0) {
    throw new ProtocolError('BAD_SIGNATURE', `${where}: expected a signature by a known key that verifies over this payload, got none that does`);
  }
  const bytes = canonicalBytes(envelope.payloadType, payload, valid);
  return { payload, keyids: valid.map((s) => s.keyid).sort(), bytes, hash: envelopeHash(bytes) };
}
