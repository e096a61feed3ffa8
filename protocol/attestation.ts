/**
 * From envelope bytes to votes: the one validation pipeline every input goes through (file,
 * API, builder, gossip, sync): size -> schema -> keyid -> known signer -> signature ->
 * statement shape (DESIGN sections 4 and 6), ending in the envelope's canonical form: what is
 * stored, forwarded and hashed. Pure: the caller supplies the trust policy.
 */
import { canonicalBytes, parseEnvelope, signatureKeyid, verifyEnvelope, type Envelope } from './dsse.ts';
import { asBuffer, fromBase64 } from './encoding.ts';
import { ProtocolError } from './errors.ts';
import { engineDigestOf, parseStatement, PAYLOAD_TYPE } from './statement.ts';
import type { TrustPolicy } from './trust.ts';

/** What a build is: two statements about the same identity describe the same build. */
export interface BuildIdentity {
  image: string;
  platform: string;
  inputDigest: string;
}

/** One key's claim that a build identity produced a digest. */
export interface Vote extends BuildIdentity {
  keyid: string;
  /** Canonical output digest, hex. */
  digest: string;
  engineDigest?: string;
  /** sha256 of the canonical envelope bytes that carry this vote. */
  envelope: string;
}

export interface Attestation {
  /** sha256 of `bytes`: the envelope's id. */
  hash: string;
  /** The canonical envelope bytes (protocol/dsse.ts canonicalBytes), whatever form arrived. */
  bytes: Uint8Array;
  /** One vote per distinct known key whose signature holds. */
  votes: Vote[];
}

/**
 * Validates envelope bytes against the policy's known keys and returns the attestation in
 * canonical form: two inputs that differ only in what no signature covers give the same bytes
 * and hash. Throws ProtocolError: BAD_ENVELOPE, MISSING_KEYID, BAD_ENCODING,
 * UNSUPPORTED_PAYLOAD_TYPE, BAD_SIGNATURE, UNKNOWN_SIGNER or BAD_STATEMENT. The statement is
 * parsed only after a signature holds.
 */
export function readAttestation(bytes: Uint8Array, policy: TrustPolicy, where: string): Attestation {
  return attestationOf(parseEnvelope(bytes, where), policy, where);
}

/**
 * The stricter rule of a gossip message (DESIGN section 6): exactly one signature
 * (NOT_ONE_SIGNATURE), with a keyid (MISSING_KEYID), by a known key (UNKNOWN_SIGNER, the one
 * refusal a relay only Ignores), in canonical bytes (NOT_CANONICAL: an honest node publishes
 * only what it stored, so anything else is a sender's choice to make a new message id). All
 * of these are decided before any verification; then the pipeline above.
 */
export function readGossipAttestation(bytes: Uint8Array, policy: TrustPolicy, where: string): Attestation {
  const envelope = parseEnvelope(bytes, where);
  if (envelope.signatures.length !== 1) {
    throw new ProtocolError('NOT_ONE_SIGNATURE', `${where}: expected exactly one signature on a gossip message, got ${envelope.signatures.length}`);
  }
  const [signature] = envelope.signatures as [Envelope['signatures'][number]];
  const keyid = signatureKeyid(signature, 0, where);
  if (!policy.known.has(keyid)) throw new ProtocolError('UNKNOWN_SIGNER', `${where}: signed by no known key (keyid ${keyid.slice(0, 80)})`);
  const canonical = canonicalBytes(envelope.payloadType, fromBase64(envelope.payload, `${where}: payload`), [{ keyid, sig: fromBase64(signature.sig, `${where}: signatures[0].sig`) }]);
  if (!asBuffer(canonical).equals(asBuffer(bytes))) {
    throw new ProtocolError('NOT_CANONICAL', `${where}: expected the envelope's canonical bytes (${canonical.length} bytes), got ${bytes.length} other bytes`);
  }
  return attestationOf(envelope, policy, where);
}

function attestationOf(envelope: Envelope, policy: TrustPolicy, where: string): Attestation {
  const verified = verifyEnvelope(envelope, policy.known, PAYLOAD_TYPE, where);
  const statement = parseStatement(verified.payload, where);
  const { hash, bytes } = verified;
  const [subject] = statement.subject;
  const params = statement.predicate.buildDefinition.externalParameters;
  const engineDigest = engineDigestOf(statement);
  const votes = verified.keyids.map((keyid): Vote => ({
    keyid,
    image: subject!.name,
    platform: params.platform,
    inputDigest: params.inputDigest,
    digest: subject!.digest.sha256,
    ...(engineDigest ? { engineDigest } : {}),
    envelope: hash,
  }));
  return { hash, bytes, votes };
}

/** A stable string key for an identity, for grouping. */
export function identityKey(identity: BuildIdentity): string {
  return `${identity.image} ${identity.platform} ${identity.inputDigest}`;
}
