/**
 * SLSA Verification Summary Attestations (https://slsa.dev/spec/v1.0/verification_summary): what
 * `verify --vsa` signs, so a consumer's tooling can record "this reproducer checked these digests
 * against its threshold, and here is every envelope and StageX signature it counted". Pure: the
 * caller signs the statement (DSSE, the node's own signer).
 */
import { identityKey, type Vote } from './attestation.ts';
import type { EntryVerdict, ManifestVerdict } from './manifest.ts';
import type { OpenpgpVote } from './stagex-signature.ts';
import { decide } from './threshold.ts';
import type { TrustPolicy } from './trust.ts';

export const VSA_PREDICATE_TYPE = 'https://slsa.dev/verification_summary/v1';

/** What an entry's verdict counted: envelope hashes and StageX signature file hashes. */
export interface CountedEvidence {
  image: string;
  digest: string;
  envelopes: string[];
  signatures: string[];
}

/**
 * The envelopes and StageX signatures that vouched for an entry's digest (the evidence behind
 * `vouchersOf` in protocol/manifest.ts): counted votes of an identity trusted at the digest or
 * recording it as their engine digest (never a void, equivocating or untrusted key's), and
 * signatures over it by trusted OpenPGP signers.
 */
export function countedEvidence(entry: { image: string; digest: string }, votes: readonly Vote[], openpgp: readonly OpenpgpVote[], policy: TrustPolicy): CountedEvidence {
  const mine = votes.filter((v) => v.image === entry.image);
  const verdicts = new Map(decide(mine, policy).map((v) => [identityKey(v.identity), v]));
  const envelopes = new Set<string>();
  for (const vote of mine) {
    const verdict = verdicts.get(identityKey(vote));
    if (!verdict || !policy.voters.has(vote.keyid) || verdict.equivocating.some((e) => e.keyid === vote.keyid)) continue;
    const trustedHere = verdict.status === 'trusted' && verdict.digest === entry.digest && vote.digest === entry.digest;
    if (trustedHere || vote.engineDigest === entry.digest) envelopes.add(vote.envelope);
  }
  const signatures = openpgp.filter((v) => v.image === entry.image && v.digest === entry.digest && policy.openpgpVoters.has(v.fingerprint)).map((v) => v.file);
  return { image: entry.image, digest: entry.digest, envelopes: [...envelopes].sort(), signatures: [...new Set(signatures)].sort() };
}

export interface VsaFacts {
  /** This reproducer, e.g. `stagex-node:alice`. */
  verifierId: string;
  version: string;
  timeVerified: string;
  /** What was verified: a digests file, a directory, or `image@sha256:hex`. */
  resourceUri: string;
  /** sha256 of the trust policy the verdict followed (signers, keys, threshold). */
  policyDigest: string;
  threshold: number;
  signers: number;
}

/** The VSA statement for a manifest verdict and the evidence counted for each entry. */
export function vsaStatement(verdict: ManifestVerdict, counted: readonly CountedEvidence[], facts: VsaFacts) {
  const passed = verdict.trusted;
  const attestations = counted.flatMap((c) => [
    ...c.envelopes.map((hash) => ({ uri: `stagex-node:envelope/${hash}`, digest: { sha256: hash } })),
    ...c.signatures.map((hash) => ({ uri: `stagex-signature:${c.image}@sha256=${c.digest}`, digest: { sha256: hash } })),
  ]);
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: verdict.entries.map((e: EntryVerdict) => ({ name: `stagex/${e.image}`, digest: { sha256: e.digest } })),
    predicateType: VSA_PREDICATE_TYPE,
    predicate: {
      verifier: { id: facts.verifierId, version: { 'stagex-node': facts.version } },
      timeVerified: facts.timeVerified,
      resourceUri: facts.resourceUri,
      policy: { uri: `stagex-node:trust-policy/threshold-${facts.threshold}-of-${facts.signers}`, digest: { sha256: facts.policyDigest } },
      inputAttestations: [...new Map(attestations.map((a) => [a.uri + a.digest.sha256, a])).values()],
      verificationResult: passed ? 'PASSED' : 'FAILED',
      verifiedLevels: passed ? [`STAGEX_REPRODUCED_${facts.threshold}_OF_${facts.signers}`] : ['FAILED'],
      slsaVersion: '1.0',
    },
  };
}
