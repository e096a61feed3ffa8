/**
 * The answers the CLI and the local API give, computed from the store: one place, so the two
 * surfaces say the same thing (the CLI asks a running daemon's API for them, and computes them
 * itself when no daemon runs).
 */
import { identityKey, type BuildIdentity, type Vote } from '../protocol/attestation.ts';
import type { ManifestEntry, ManifestVerdict } from '../protocol/manifest.ts';
import type { CountedEvidence } from '../protocol/vsa.ts';
import { decide, type Verdict } from '../protocol/threshold.ts';
import type { OpenpgpVote } from '../protocol/stagex-signature.ts';
import { keyName, type TrustPolicy } from '../protocol/trust.ts';
import type { StoreProblem } from '../store/errors.ts';
import { queryDigest, verdictsFor, verifyManifest } from '../store/queries.ts';
import type { AttestationStore } from '../store/store.ts';
import { DaemonError } from './errors.ts';

export interface QueryParams {
  image?: string;
  digest?: string;
  /** keyid or configured name */
  key?: string;
}

export type QueryAnswer =
  | { kind: 'key'; keyid: string; name: string; votes: Vote[]; problems: StoreProblem[] }
  | { kind: 'verdicts'; verdicts: Verdict[]; votes?: Vote[]; openpgp?: OpenpgpVote[]; problems: StoreProblem[] };

export async function answerQuery(store: AttestationStore, policy: TrustPolicy, params: QueryParams): Promise<QueryAnswer> {
  if (params.key !== undefined) {
    const keyid = [...policy.names].find(([, name]) => name === params.key)?.[0] ?? params.key;
    if (!/^[0-9a-f]{64}$/.test(keyid)) throw new DaemonError('USAGE', `--key: expected a keyid (64 lowercase hex) or a configured key name, got ${JSON.stringify(params.key)}`);
    const { votes, problems } = await store.votesByKey(keyid);
    return { kind: 'key', keyid, name: keyName(policy, keyid), votes, problems };
  }
  if (params.digest !== undefined) return { kind: 'verdicts', ...(await queryDigest(store, policy, params.digest)) };
  if (params.image === undefined) return { kind: 'verdicts', ...(await verdictsFor(store, policy)) };
  const { verdicts, problems } = await verdictsFor(store, policy, { image: params.image });
  const openpgp = await store.openpgpVotes([params.image]);
  return { kind: 'verdicts', verdicts, openpgp: openpgp.votes, problems: [...problems, ...openpgp.problems] };
}

/** The verdicts of these builds only, with one point read each: never a scan of the store. */
export async function answerVerdicts(store: AttestationStore, policy: TrustPolicy, identities: readonly BuildIdentity[]): Promise<{ verdicts: Verdict[]; problems: StoreProblem[] }> {
  const { votes, problems } = await store.votesForIdentities(identities.map(identityKey));
  return { verdicts: decide(votes, policy), problems };
}

export type VerifyAnswer = ManifestVerdict & { counted: CountedEvidence[]; problems: StoreProblem[] };

export function answerVerify(store: AttestationStore, policy: TrustPolicy, entries: readonly ManifestEntry[]): Promise<VerifyAnswer> {
  return verifyManifest(store, policy, entries);
}
