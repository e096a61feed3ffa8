/**
 * The store's verdict counts for `/status` and metrics, kept as envelopes arrive instead of
 * recomputed from every vote on each call (at a million envelopes that took seconds and GBs).
 * At start one pass over the tallies (a snapshot, in batches) counts them; after that each write
 * reports its tallies before and after (store followTallies), and the identity's old verdict is
 * taken away and its new one added. In memory: three counters, and the verdicts of identities in
 * conflict or with an equivocating key (what `/status` lists; rare by nature).
 * A new trust policy (config reload) needs a new board: verdicts depend on it.
 */
import { decide, type Verdict } from '../protocol/threshold.ts';
import { keyName, type TrustPolicy } from '../protocol/trust.ts';
import type { Vote } from '../protocol/attestation.ts';
import { parseTally } from '../store/keys.ts';
import type { AttestationStore, TallyChange } from '../store/store.ts';

export interface StoreStatus {
  envelopes: number;
  identities: number;
  verdicts: { trusted: number; pending: number; conflict: number };
  /** Keys that signed two digests for one identity, by name. */
  equivocating: string[];
  conflicts: { image: string; platform: string; inputDigest: string; digests: { digest: string; signers: string[] }[] }[];
}

export class StatusBoard {
  readonly #policy: TrustPolicy;
  readonly #counts = { trusted: 0, pending: 0, conflict: 0 };
  #identities = 0;
  /** Identities in conflict or with an equivocating key -> their verdict. */
  readonly #notable = new Map<string, Verdict>();
  #stop = () => {};
  #ready: Promise<void> = Promise.resolve();
  /** Changes written while the first pass runs, applied after it (the pass sees the state before them). */
  #queued: TallyChange[][] | undefined = [];

  private constructor(policy: TrustPolicy) {
    this.#policy = policy;
  }

  /** Starts counting `store` under `policy`; `ready` settles when the first pass is done. */
  static async open(store: AttestationStore, policy: TrustPolicy): Promise<StatusBoard> {
    const board = new StatusBoard(policy);
    const { snapshot, stop } = await store.followTallies((changes) => board.#apply(changes));
    board.#stop = stop;
    board.#ready = (async () => {
      for await (const batch of snapshot) for (const [identity, tally] of batch) board.#count(identity, tally, 1);
      const queued = board.#queued!;
      board.#queued = undefined;
      for (const changes of queued) board.#apply(changes);
    })();
    return board;
  }

  /** The first pass over the store is done (answers before it would undercount). */
  get ready(): Promise<void> {
    return this.#ready;
  }

  close(): void {
    this.#stop();
  }

  /** `/status`'s store part; `envelopes` comes from the caller (the hash index knows it). */
  async status(envelopes: number): Promise<StoreStatus> {
    await this.#ready;
    const notable = [...this.#notable.values()];
    const name = (keyid: string) => keyName(this.#policy, keyid);
    return {
      envelopes,
      identities: this.#identities,
      verdicts: { ...this.#counts },
      equivocating: [...new Set(notable.flatMap((v) => v.equivocating.map((e) => name(e.keyid))))].sort(),
      conflicts: notable.filter((v) => v.status === 'conflict').sort(byIdentity).map((v) => ({
        ...v.identity,
        digests: v.digests.map((d) => ({ digest: d.digest, signers: d.keyids.map(name) })),
      })),
    };
  }

  #apply(changes: readonly TallyChange[]): void {
    if (this.#queued) {
      this.#queued.push([...changes]);
      return;
    }
    for (const { identity, before, after } of changes) {
      if (before !== undefined) this.#count(identity, before, -1);
      this.#count(identity, after, 1);
    }
  }

  /** Adds (+1) or takes away (-1) the verdict one tally gives. */
  #count(identity: string, tally: string, sign: 1 | -1): void {
    const votes: Vote[] = [];
    parseTally(identity, tally, votes, []);
    const verdict = decide(votes, this.#policy)[0];
    if (!verdict) return;
    this.#identities += sign;
    this.#counts[verdict.status] += sign;
    if (sign < 0) this.#notable.delete(identity);
    else if (verdict.status === 'conflict' || verdict.equivocating.length > 0) this.#notable.set(identity, verdict);
  }
}

const byIdentity = (a: Verdict, b: Verdict): number => {
  const ka = `${a.identity.image} ${a.identity.platform} ${a.identity.inputDigest}`;
  const kb = `${b.identity.image} ${b.identity.platform} ${b.identity.inputDigest}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};
