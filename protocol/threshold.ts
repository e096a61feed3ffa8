/**
 * Threshold verdicts (DESIGN section 5, TUF rules). One pure function from votes and the trust
 * policy to a verdict per build identity. Votes must come from verified envelopes
 * (protocol/attestation.ts); here only who counts, and how, is decided.
 */
import { identityKey, type BuildIdentity, type Vote } from './attestation.ts';
import type { TrustPolicy } from './trust.ts';

export type VerdictStatus = 'trusted' | 'pending' | 'conflict';

export interface DigestVotes {
  digest: string;
  /** Distinct voting keyids for this digest, sorted. */
  keyids: string[];
  /** engine digest -> keyids (among `keyids`) that recorded it. */
  engineDigests: Record<string, string[]>;
}

export interface Verdict {
  identity: BuildIdentity;
  status: VerdictStatus;
  /** The trusted digest, when status is trusted. */
  digest?: string;
  /** k: the most votes any one digest has. */
  count: number;
  threshold: number;
  /** Every digest with at least one counted vote, most votes first. */
  digests: DigestVotes[];
  /** Voters that signed two different digests for this identity: their votes are void. */
  equivocating: { keyid: string; digests: string[] }[];
}

/**
 * Groups votes by identity and decides each:
 * - only keys in `policy.voters` (trusted, not revoked) count; each key counts once;
 * - a key that voted two digests for one identity is equivocating: all its votes there are void;
 * - trusted at D when at least M keys voted D and no other digest has a counted vote;
 * - conflict when two digests have counted votes, whatever the counts;
 * - pending otherwise (k of M).
 * Identities are returned sorted by image, platform, input digest.
 */
export function decide(votes: Iterable<Vote>, policy: TrustPolicy): Verdict[] {
  const groups = new Map<string, Vote[]>();
  for (const vote of votes) {
    if (!policy.voters.has(vote.keyid)) continue;
    const key = identityKey(vote);
    const group = groups.get(key);
    if (group) group.push(vote);
    else groups.set(key, [vote]);
  }
  return [...groups.keys()].sort().map((key) => decideIdentity(groups.get(key)!, policy.threshold));
}

/** The rules of DESIGN section 5 for the counted votes of one identity. */
function decideIdentity(votes: readonly Vote[], threshold: number): Verdict {
  const first = votes[0]!;
  const identity = { image: first.image, platform: first.platform, inputDigest: first.inputDigest };
  const digestsOfKey = new Map<string, Set<string>>();
  for (const vote of votes) {
    const digests = digestsOfKey.get(vote.keyid);
    if (digests) digests.add(vote.digest);
    else digestsOfKey.set(vote.keyid, new Set([vote.digest]));
  }
  const equivocating = [...digestsOfKey]
    .filter(([, digests]) => digests.size > 1)
    .map(([keyid, digests]) => ({ keyid, digests: [...digests].sort() }))
    .sort((a, b) => (a.keyid < b.keyid ? -1 : 1));
  const byDigest = new Map<string, { keyids: Set<string>; engines: Map<string, Set<string>> }>();
  for (const vote of votes) {
    if (digestsOfKey.get(vote.keyid)!.size > 1) continue;
    let entry = byDigest.get(vote.digest);
    if (!entry) byDigest.set(vote.digest, (entry = { keyids: new Set(), engines: new Map() }));
    entry.keyids.add(vote.keyid);
    if (vote.engineDigest) {
      const recorders = entry.engines.get(vote.engineDigest);
      if (recorders) recorders.add(vote.keyid);
      else entry.engines.set(vote.engineDigest, new Set([vote.keyid]));
    }
  }
  const digests: DigestVotes[] = [...byDigest].map(([digest, entry]) => ({
    digest,
    keyids: [...entry.keyids].sort(),
    engineDigests: Object.fromEntries([...entry.engines].map(([engine, keyids]) => [engine, [...keyids].sort()])),
  }));
  digests.sort((a, b) => b.keyids.length - a.keyids.length || (a.digest < b.digest ? -1 : 1));
  const count = digests[0]?.keyids.length ?? 0;
  const base = { identity, count, threshold, digests, equivocating };
  if (digests.length > 1) return { ...base, status: 'conflict' };
  if (count >= threshold) return { ...base, status: 'trusted', digest: digests[0]!.digest };
  return { ...base, status: 'pending' };
}
