/**
 * The store's verdict counts for `/status` and metrics, kept as envelopes arrive instead of
 * recomputed from every vote on each call (at a million envelopes that took seconds and GBs).
 * At start one pass over the tallies (a snapshot, in batches) counts them; after that each write
 * reports its tallies before and after (store followTallies), and the identity's old verdict is
 * taken away and its new one added. In memory: three counters, and the verdicts of identities in
 * conflict or with an equivocating key (what `/status` lists; rare by nature).
 * A new trust policy (config reload) needs a new board: verdicts depend on it.
 * The verdicts before and after each write also go to an optional listener (the daemon's
 * verdict log lines), so nothing reads the store again to report what a write changed.
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

/** What one write did to one identity's verdict: none before when the identity is new. */
export interface VerdictChange {
  before?: Verdict;
  after: Verdict;
}

export type VerdictListener = (changes: readonly VerdictChange[]) => void;

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
  readonly #onChange: VerdictListener | undefined;
  #closed = false;

  private constructor(policy: TrustPolicy, onChange: VerdictListener | undefined) {
    this.#policy = policy;
    this.#onChange = onChange;
  }

  /**
   * Starts counting `store` under `policy`; `ready` settles when the first pass is done.
   * `onChange` hears each later write's verdict changes (those written during the first pass
   * once it is done), until `close`.
   */
  static async open(store: AttestationStore, policy: TrustPolicy, onChange?: VerdictListener): Promise<StatusBoard> {
    const board = new StatusBoard(policy, onChange);
    const { snapshot, stop } = await store.followTallies((changes) => board.#apply(changes));
    board.#stop = stop;
    board.#ready = (async () => {
      for await (const batch of snapshot) for (const [identity, tally] of batch) board.#count(identity, board.#verdict(identity, tally), 1);
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
    this.#closed = true;
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

  /** The verdicts of identities in conflict or with an equivocating key (the status page lists them all). */
  async notable(): Promise<Verdict[]> {
    await this.#ready;
    return [...this.#notable.values()];
  }

  #apply(changes: readonly TallyChange[]): void {
    if (this.#queued) {
      this.#queued.push([...changes]);
      return;
    }
    const reported: VerdictChange[] = [];
    for (const change of changes) {
      const before = change.before === undefined ? undefined : this.#verdict(change.identity, change.before);
      const after = this.#verdict(change.identity, change.after);
      this.#count(change.identity, before, -1);
      this.#count(change.identity, after, 1);
      if (after) reported.push(before ? { before, after } : { after });
    }
    if (reported.length > 0 && !this.#closed) this.#onChange?.(reported);
  }

  /** The verdict one tally gives (none when no vote in it counts). */
  #verdict(identity: string, tally: string): Verdict | undefined {
    const votes: Vote[] = [];
    parseTally(identity, tally, votes, []);
    return decide(votes, this.#policy)[0];
  }

  /** Adds (+1) or takes away (-1) an identity's verdict. */
  #count(identity: string, verdict: Verdict | undefined, sign: 1 | -1): void {
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
