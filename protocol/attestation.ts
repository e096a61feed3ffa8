/**
 * From envelope bytes to votes: the one validation pipeline every input goes through (file,
 * CLI, gossip, sync): size -> schema -> signature -> known signer -> statement shape
 * (DESIGN sections 4 and 6). Pure: the caller supplies the trust policy.
 */
import { envelopeHash, parseEnvelope, verifyEnvelope } from './dsse.ts';
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
  /** sha256 of the envelope bytes that carry this vote. */
  envelope: string;
}

export interface Attestation {
  /** sha256 of the envelope bytes as received. */
  hash: string;
  bytes: Uint8Array;
  /** One vote per distinct known key whose signature holds. */
  votes: Vote[];
}

/**
 * Validates envelope bytes against the policy's known keys and returns the attestation.
 * Throws ProtocolError: BAD_ENVELOPE, BAD_ENCODING, UNSUPPORTED_PAYLOAD_TYPE, BAD_SIGNATURE,
 * UNKNOWN_SIGNER or BAD_STATEMENT. The statement is parsed only after a signature holds.
 */
export function readAttestation(bytes: Uint8Array, policy: TrustPolicy, where: string): Attestation {
  const envelope = parseEnvelope(bytes, where);
  const verified = verifyEnvelope(envelope, policy.known, PAYLOAD_TYPE, where);
  const statement = parseStatement(verified.payload, where);
  const hash = envelopeHash(bytes);
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
