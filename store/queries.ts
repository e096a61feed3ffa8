/**
 * Questions users ask the store, answered with range reads and the pure verdict functions
 * (DESIGN sections 5 and 7). Shared by the CLI and the local API.
 */
import { decide, type Verdict } from '../protocol/threshold.ts';
import { decideManifest, type ManifestEntry, type ManifestVerdict } from '../protocol/manifest.ts';
import { countedEvidence, type CountedEvidence } from '../protocol/vsa.ts';
import type { TrustPolicy } from '../protocol/trust.ts';
import type { OpenpgpVote } from '../protocol/stagex-signature.ts';
import { identityKey, type Vote } from '../protocol/attestation.ts';
import type { StoreProblem } from './errors.ts';
import type { AttestationStore, VoteQuery } from './store.ts';

export interface VerdictResult {
  verdicts: Verdict[];
  problems: StoreProblem[];
}

/** Verdicts of every identity matching the query (an image, or all). */
export async function verdictsFor(store: AttestationStore, policy: TrustPolicy, query: VoteQuery = {}): Promise<VerdictResult> {
  const { votes, problems } = await store.votes(query);
  return { verdicts: decide(votes, policy), problems };
}

/**
 * Decides a manifest: one range read over its images' tallies and one over their StageX OpenPGP
 * votes, then the pure rule (protocol/manifest.ts). `counted` lists, per entry, the envelopes and
 * StageX signatures that vouched for its digest (the evidence a VSA cites).
 */
export async function verifyManifest(store: AttestationStore, policy: TrustPolicy, entries: readonly ManifestEntry[]): Promise<ManifestVerdict & { counted: CountedEvidence[]; problems: StoreProblem[] }> {
  const images = entries.map((e) => e.image);
  const { votes, problems } = await store.votesForImages(images);
  const openpgp = await store.openpgpVotes(images);
  const byImage = new Map<string, { verdicts: Verdict[]; openpgp: OpenpgpVote[]; votes: Vote[] }>();
  const of = (image: string) => {
    let evidence = byImage.get(image);
    if (!evidence) byImage.set(image, (evidence = { verdicts: [], openpgp: [], votes: [] }));
    return evidence;
  };
  for (const verdict of decide(votes, policy)) of(verdict.identity.image).verdicts.push(verdict);
  for (const vote of openpgp.votes) of(vote.image).openpgp.push(vote);
  for (const vote of votes) of(vote.image).votes.push(vote);
  const counted = entries.map((entry) => countedEvidence(entry, of(entry.image).votes, of(entry.image).openpgp, policy));
  return { ...decideManifest(entries, of, policy), counted, problems: [...problems, ...openpgp.problems] };
}

/**
 * Votes whose canonical or engine digest is `digest`, and the verdicts of their identities.
 * A scan of every tally: asking by digest is rare, and an index per digest would cost every
 * insert (bench/ingest.ts).
 */
export async function queryDigest(store: AttestationStore, policy: TrustPolicy, digest: string): Promise<VerdictResult & { votes: Vote[] }> {
  const { votes: all, problems } = await store.votes();
  const votes = all.filter((v) => v.digest === digest || v.engineDigest === digest);
  const identities = new Set(votes.map(identityKey));
  const verdicts = decide(all.filter((v) => identities.has(identityKey(v))), policy);
  return { votes, verdicts, problems };
}

/**
 * The trusted digest of each image, for StageX `digests/<stage>.txt` lines. When several
 * identities of one image are trusted (e.g. two tree revisions), the one with most votes wins.
 */
export function trustedDigests(verdicts: readonly Verdict[]): Map<string, string> {
  const best = new Map<string, Verdict>();
  for (const verdict of verdicts) {
    if (verdict.status !== 'trusted') continue;
    const current = best.get(verdict.identity.image);
    if (!current || verdict.count > current.count) best.set(verdict.identity.image, verdict);
  }
  return new Map([...best].map(([image, v]) => [image, v.digest!]));
}
