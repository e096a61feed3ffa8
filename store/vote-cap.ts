/**
 * The per-key cap (DESIGN section 6): per build identity a key needs one envelope per digest,
 * and a second digest is already equivocation evidence (DESIGN section 5) that voids its votes.
 * So a key holds at most one envelope per (identity, digest) and at most MAX_DIGESTS_PER_KEY
 * digests per identity; anything more only costs disk and forwarding. Without the cap one key
 * (stolen, or a reproducer rebuilding with new timestamps) stores unlimited envelopes for one
 * identity. The store applies it inside its serialised write, against the tallies that write
 * reads, so the check and the write are one step.
 */
import { identityKey, type Attestation, type Vote } from '../protocol/attestation.ts';
import { parseTally } from './keys.ts';

export const MAX_DIGESTS_PER_KEY = 2;

export interface CapRefusal {
  code: 'KEY_ALREADY_VOTED' | 'KEY_DIGEST_CAP';
  error: string;
}

export class VoteCap {
  /** identity -> keyid -> digest -> the envelope that holds that vote. */
  readonly #held = new Map<string, Map<string, Map<string, string>>>();

  /** `tallies[i]` is the stored tally of `identities[i]` (undefined when none). */
  constructor(identities: readonly string[], tallies: readonly (string | undefined)[]) {
    const votes: Vote[] = [];
    identities.forEach((identity, i) => {
      if (tallies[i] !== undefined) parseTally(identity, tallies[i], votes, []);
    });
    for (const vote of votes) this.#hold(vote);
  }

  /** Why storing `attestation` would exceed the cap for one of its keys, if it would. */
  check(attestation: Attestation): CapRefusal | undefined {
    for (const vote of attestation.votes) {
      const digests = this.#held.get(identityKey(vote))?.get(vote.keyid);
      if (digests === undefined) continue;
      const where = `envelope ${attestation.hash}: key ${vote.keyid} for ${identityKey(vote)}`;
      const held = digests.get(vote.digest);
      if (held !== undefined) {
        return { code: 'KEY_ALREADY_VOTED', error: `${where}: expected one envelope per digest, got a second for digest ${vote.digest} (stored: ${held})` };
      }
      if (digests.size >= MAX_DIGESTS_PER_KEY) {
        return { code: 'KEY_DIGEST_CAP', error: `${where}: expected at most ${MAX_DIGESTS_PER_KEY} digests (the second is equivocation evidence), got a third: ${vote.digest}` };
      }
    }
    return undefined;
  }

  /** Counts an attestation that is being stored. */
  add(attestation: Attestation): void {
    for (const vote of attestation.votes) this.#hold(vote);
  }

  #hold(vote: Vote): void {
    const identity = identityKey(vote);
    const byKey = this.#held.get(identity) ?? new Map<string, Map<string, string>>();
    this.#held.set(identity, byKey);
    const digests = byKey.get(vote.keyid) ?? new Map<string, string>();
    byKey.set(vote.keyid, digests);
    if (!digests.has(vote.digest)) digests.set(vote.digest, vote.envelope);
  }
}
