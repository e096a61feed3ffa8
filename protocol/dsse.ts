/**
 * DSSE envelopes (https://github.com/secure-systems-lab/dsse, protocol.md): the signed wrapper
 * of every attestation (DESIGN section 4). Signatures cover the pre-authentication encoding of
 * the exact payload bytes; a verifier checks those bytes and parses them only afterwards.
 */
import { z } from 'zod';
import { fromBase64, sha256Hex, toBase64, utf8 } from './encoding.ts';
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
  const type = Buffer.from(payloadType, 'utf8');
  const head = Buffer.from(`DSSEv1 ${type.length} `, 'utf8');
  const middle = Buffer.from(` ${payload.length} `, 'utf8');
  return new Uint8Array(Buffer.concat([head, type, middle, payload]));
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

/** The bytes that go on the wire and into the store, and whose sha256 names the envelope. */
export function encodeEnvelope(envelope: Envelope): Uint8Array {
  return new Uint8Array(Buffer.from(JSON.stringify(envelope), 'utf8'));
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

/** A public key the verifier knows, with its fast verify function (protocol/ed25519.ts). */
export interface KnownKey {
  readonly keyid: string;
  readonly verify: (message: Uint8Array, signature: Uint8Array) => boolean;
}

export interface VerifiedEnvelope {
  /** The exact payload bytes that the signatures cover. */
  readonly payload: Uint8Array;
  /** Distinct keyids (computed from the key, not read from the envelope) whose signature holds. */
  readonly keyids: readonly string[];
}

/**
 * Checks every signature against the keys the caller knows. The envelope's keyid field only
 * selects a key: the signature must hold under that key's bytes. A signature with no keyid is
 * tried against every known key; one whose keyid names no known key is skipped (so a peer cannot
 * make us try N keys per signature). Distinct keys are returned once each.
 * Throws UNSUPPORTED_PAYLOAD_TYPE, BAD_ENCODING, UNKNOWN_SIGNER (no signature by a known key) or
 * BAD_SIGNATURE (a known key's signature does not hold and no other does).
 */
export function verifyEnvelope(envelope: Envelope, keys: ReadonlyMap<string, KnownKey>, expectedType: string, where: string): VerifiedEnvelope {
  if (envelope.payloadType !== expectedType) {
    throw new ProtocolError('UNSUPPORTED_PAYLOAD_TYPE', `${where}: expected payloadType ${expectedType}, got ${JSON.stringify(envelope.payloadType.slice(0, 80))}`);
  }
  const payload = fromBase64(envelope.payload, `${where}: payload`);
  const pae = preAuthEncoding(envelope.payloadType, payload);
  const valid = new Set<string>();
  let failedKnown = 0;
  envelope.signatures.forEach((signature, index) => {
    const sig = fromBase64(signature.sig, `${where}: signatures[${index}].sig`);
    const named = signature.keyid ? keys.get(signature.keyid) : undefined;
    if (signature.keyid && !named) return;
    for (const key of named ? [named] : keys.values()) {
      if (key.verify(pae, sig)) {
        valid.add(key.keyid);
        return;
      }
    }
    if (named) failedKnown += 1;
  });
  if (valid.size > 0) return { payload, keyids: [...valid].sort() };
  if (failedKnown > 0) {
    throw new ProtocolError('BAD_SIGNATURE', `${where}: signature by known key does not verify over this payload`);
  }
  throw new ProtocolError('UNKNOWN_SIGNER', `${where}: signed by no known key (keyids ${envelope.signatures.map((s) => s.keyid ?? '(none)').join(', ')})`);
}
