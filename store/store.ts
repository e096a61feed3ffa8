/**
 * The attestation store: LevelDB on disk (DESIGN section 7). Envelopes are stored once under
 * their sha256 with tally, key and digest indexes (store/keys.ts), each insert one atomic batch.
 * Nothing can delete or overwrite what is stored: the only write is "add if absent", and a
 * tally only ever gains lines.
 */
import { Level } from 'level';
import { identityKey, type Attestation, type Vote } from '../protocol/attestation.ts';
import { StoreError, type StoreProblem } from './errors.ts';
import type { OpenpgpVote } from '../protocol/stagex-signature.ts';
import { VoteCap, type CapRefusal } from './vote-cap.ts';
import { noRoomToReopen, ReadGate } from './reopen.ts';
import { appendTally, indexValue, openpgpKey, parseIndexEntry, parseOpenpgpEntry, parseTally, prefixRange, SEP, tallyLine } from './keys.ts';

/** The part of a (sub)level that range reads use. */
interface Ranged {
  iterator(options: { gte?: string; lt?: string; values?: boolean }): { nextv(size: number): Promise<unknown[]>; close(): Promise<void> };
}

type Range = { gte?: string; lt?: string };

export interface VoteQuery {
  image?: string;
  platform?: string;
  inputDigest?: string;
}

export interface VoteResult {
  votes: Vote[];
  problems: StoreProblem[];
}

export interface OpenpgpVoteResult {
  votes: OpenpgpVote[];
  problems: StoreProblem[];
}

/** One identity's tally before and after a write (`before` undefined: the identity is new). */
export interface TallyChange {
  identity: string;
  before?: string;
  after: string;
}

export type TallyListener = (changes: readonly TallyChange[]) => void;

/** A change in whether the store can write: its first failed write, and the reopen that ends it. */
export type WriteHealth = { event: 'write_failed'; code: 'STORE_FULL' | 'STORE_WRITE_FAILED'; error: string } | { event: 'reopened' };

/** What a write did with one attestation: stored it, had it, or refused it by the per-key cap. */
export type PutResult = 'added' | 'present' | CapRefusal;

/** The sublevels of the store (store/keys.ts), for a walk of their raw entries (store/check.ts). */
export type Sublevel = 'env' | 'tally' | 'key' | 'pgp';

export interface StoreOptions {
  /**
   * Also fsync each write batch before it resolves (LevelDB `sync: true`): an acknowledged write
   * then survives power loss, not only a killed process (DESIGN section 7). Default false.
   */
  sync?: boolean;
  /** Create the store when absent (default true); false for read-only tools (`store check`). */
  createIfMissing?: boolean;
  /**
   * How long to keep trying while another process holds the store's lock (default 0: fail at
   * once). A daemon starting while a CLI command briefly reads the store waits for it.
   */
  lockWaitMs?: number;
}

const READ_BATCH = 1000;
/**
 * LevelDB memory-maps every table file it keeps open, and a scan of the store (the hash index at
 * start, a full sync) touches them all: with the default 1000 open files a million envelopes put
 * ~1.2 GB of mapped tables in the daemon's resident set. LevelDB's smallest table cache (74 files,
 * 64 of them tables) keeps that near 120 MB, and scans ran no slower (bench/memory.ts).
 */
const MAX_OPEN_TABLES = 74;
/**
 * LevelDB's memtable (default 4 MiB): each fill is flushed to a level-0 table and merged down by
 * compaction, and with keys spread by hash every merge rewrites most of the level below. At
 * 16 MiB an ingest of 40,000 envelopes spent ~25 us of CPU per envelope in LevelDB and its
 * threads against ~32 us (bench/ingest.ts), for at most 32 MiB more memory (two memtables).
 */
const WRITE_BUFFER_BYTES = 16 * 1024 * 1024;
/** How long a reopen after a failed write waits for running reads (store/reopen.ts). */
const REOPEN_WAIT_MS = 10_000;

export class AttestationStore {
  readonly path: string;
  readonly #db: Level<string, string>;
  readonly #env;
  readonly #tally;
  readonly #key;
  readonly #pgp;
  readonly #write: { sync: boolean };
  /** Reads wait here while the store reopens after a failed write (store/reopen.ts). */
  readonly #gate = new ReadGate();
  /** What failed the last write: the next write reopens the store first. */
  #damaged: Error | undefined;
  readonly #listeners: ((added: readonly Attestation[]) => void)[] = [];
  readonly #tallyListeners = new Set<TallyListener>();
  readonly #health: ((change: WriteHealth) => void)[] = [];
  /** Writes read tallies before they extend them, so they run one at a time. */
  #writing: Promise<unknown> = Promise.resolve();

  private constructor(path: string, db: Level<string, string>, sync: boolean) {
    this.path = path;
    this.#db = db;
    this.#write = { sync };
    this.#env = db.sublevel<string, Uint8Array>('env', { valueEncoding: 'view' });
    this.#tally = db.sublevel<string, string>('tally', { valueEncoding: 'utf8' });
    this.#key = db.sublevel<string, string>('key', { valueEncoding: 'utf8' });
    this.#pgp = db.sublevel<string, string>('pgp', { valueEncoding: 'utf8' });
  }

  /** Opens (creating when absent, unless told not to) the store at `path`. */
  static async open(path: string, options: StoreOptions = {}): Promise<AttestationStore> {
    const until = Date.now() + (options.lockWaitMs ?? 0);
    for (;;) {
      const db = new Level<string, string>(path, { valueEncoding: 'utf8', createIfMissing: options.createIfMissing ?? true, maxOpenFiles: MAX_OPEN_TABLES, writeBufferSize: WRITE_BUFFER_BYTES });
      try {
        await db.open();
        return new AttestationStore(path, db, options.sync ?? false);
      } catch (error) {
        const cause = ((error as { cause?: Error }).cause ?? error) as Error;
        const locked = /lock/i.test(cause.message);
        if (locked && Date.now() < until) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        }
        const hint = locked ? '; a running stagex-node holds it: stop it, or ask it through its API'
          : /does not exist/i.test(cause.message) ? '; no store there (check the config\'s store path)'
          : isFull(cause) ? '; the disk is full: free space, then start again' : '';
        throw new StoreError('STORE_OPEN_FAILED', `store ${path}: cannot open LevelDB (${cause.message})${hint}`, { cause: error });
      }
    }
  }

  async close(): Promise<void> {
    await this.#writing;
    await this.#db.close();
  }

  /** Calls `listener` with what each write added (sync's hash index, verdict alerts). */
  onAdded(listener: (added: readonly Attestation[]) => void): void {
    this.#listeners.push(listener);
  }

  /** Calls `listener` when writes start failing and when the store reopened and writes again (logs). */
  onWriteHealth(listener: (change: WriteHealth) => void): void {
    this.#health.push(listener);
  }

  async has(hash: string): Promise<boolean> {
    return (await this.get(hash)) !== undefined;
  }

  /** The exact envelope bytes stored under a hash. */
  async get(hash: string): Promise<Uint8Array | undefined> {
    return this.#gate.read(() => this.#env.get(hash));
  }

  /** Envelope bytes for many hashes at once (undefined where absent). */
  async getMany(hashes: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    return this.#gate.read(() => this.#env.getMany([...hashes]));
  }

  /**
   * Adds a verified attestation and its indexes in one atomic batch. Adding an envelope that is
   * already stored changes nothing. Throws StoreError KEY_ALREADY_VOTED or KEY_DIGEST_CAP when
   * the per-key cap refuses it (store/vote-cap.ts).
   */
  async put(attestation: Attestation): Promise<'added' | 'present'> {
    const [result] = await this.putMany([attestation]);
    if (typeof result === 'object') throw new StoreError(result.code, result.error);
    return result!;
  }

  /**
   * Adds many verified attestations in one atomic batch (what sync and bulk import use), each
   * envelope once: those already stored, or repeated in the list, change nothing; those the
   * per-key cap refuses (store/vote-cap.ts, checked against the tallies this write reads and
   * the attestations before them in the list) are not stored.
   */
  putMany(attestations: readonly Attestation[]): Promise<PutResult[]> {
    const run = this.#writing.then(() => this.#putMany(attestations));
    this.#writing = run.catch(() => undefined);
    return run;
  }

  async #putMany(attestations: readonly Attestation[]): Promise<PutResult[]> {
    await this.#writable();
    const identities = [...new Set(attestations.flatMap((a) => a.votes.map(identityKey)))];
    // One read for both: whether each envelope is stored (its value only tested for presence)
    // and the tallies of every identity it votes for.
    const read = await this.#db.getMany([
      ...attestations.map((a) => this.#env.prefixKey(a.hash, 'utf8')),
      ...identities.map((identity) => this.#tally.prefixKey(identity, 'utf8')),
    ]);
    const stored = read.slice(0, attestations.length);
    const tallies = read.slice(attestations.length);
    const cap = new VoteCap(identities, tallies);
    const fresh = new Map<string, Attestation>();
    const results = attestations.map((attestation, i): PutResult => {
      if (stored[i] !== undefined || fresh.has(attestation.hash)) return 'present';
      const refusal = cap.check(attestation);
      if (refusal) return refusal;
      cap.add(attestation);
      fresh.set(attestation.hash, attestation);
      return 'added';
    });
    if (fresh.size === 0) return results;
    const linesByIdentity = new Map<string, string[]>();
    for (const attestation of fresh.values()) {
      for (const vote of attestation.votes) {
        const identity = identityKey(vote);
        const lines = linesByIdentity.get(identity);
        if (lines) lines.push(tallyLine(vote));
        else linesByIdentity.set(identity, [tallyLine(vote)]);
      }
    }
    const batch = this.#db.batch();
    const changes: TallyChange[] = [];
    const tally = { sublevel: this.#tally };
    identities.forEach((identity, i) => {
      const lines = linesByIdentity.get(identity);
      const next = lines && appendTally(tallies[i], lines);
      if (next === undefined) return;
      batch.put(identity, next, tally);
      changes.push(tallies[i] === undefined ? { identity, after: next } : { identity, before: tallies[i], after: next });
    });
    const env = { sublevel: this.#env };
    const key = { sublevel: this.#key };
    for (const attestation of fresh.values()) {
      batch.put(attestation.hash, attestation.bytes, env);
      for (const vote of attestation.votes) batch.put(vote.keyid + SEP + vote.envelope, indexValue(vote), key);
    }
    await this.#written(batch.write(this.#write), `${fresh.size} envelope(s)`);
    const added = [...fresh.values()];
    for (const listener of this.#listeners) listener(added);
    for (const listener of this.#tallyListeners) listener(changes);
    return results;
  }

  /**
   * Adds StageX OpenPGP signature votes (verified by the caller) in one atomic batch. A vote is
   * keyed by image, digest, signer and signature file hash, and only ever added: one already
   * stored, or repeated in the list, changes nothing and is reported `present`.
   */
  putOpenpgpVotes(votes: readonly OpenpgpVote[]): Promise<('added' | 'present')[]> {
    const run = this.#writing.then(async () => {
      await this.#writable();
      const keys = votes.map(openpgpKey);
      const stored = await this.#pgp.getMany(keys);
      const fresh = new Map<string, string>();
      const results = votes.map((vote, i) => {
        if (stored[i] !== undefined || fresh.has(keys[i]!)) return 'present' as const;
        fresh.set(keys[i]!, vote.created);
        return 'added' as const;
      });
      if (fresh.size > 0) {
        const batch = this.#db.batch();
        for (const [key, value] of fresh) batch.put(key, value, { sublevel: this.#pgp });
        await this.#written(batch.write(this.#write), `${fresh.size} OpenPGP vote(s)`);
      }
      return results;
    });
    this.#writing = run.catch(() => undefined);
    return run;
  }

  /**
   * StageX OpenPGP votes for some images (all when none given): one range read from the first
   * to the last image, as votesForImages.
   */
  async openpgpVotes(images?: Iterable<string>): Promise<OpenpgpVoteResult> {
    const result: OpenpgpVoteResult = { votes: [], problems: [] };
    const wanted = images === undefined ? undefined : new Set(images);
    const sorted = wanted === undefined ? [] : [...wanted].sort();
    if (wanted !== undefined && sorted.length === 0) return result;
    const range = wanted === undefined ? {} : { gte: prefixRange(sorted[0]!).gte, lt: prefixRange(sorted.at(-1)!).lt };
    for await (const batch of this.#batches<string>(this.#pgp, range)) {
      for (const [key, value] of batch) {
        if (wanted !== undefined && !wanted.has(key.slice(0, key.indexOf(SEP)))) continue;
        const vote = parseOpenpgpEntry(key, value);
        if (typeof vote === 'string') result.problems.push({ sublevel: 'pgp', key, problem: vote });
        else result.votes.push(vote);
      }
    }
    return result;
  }

  /**
   * Votes for an image, an image and platform, one identity, or everything: a range read of
   * tallies (a point read for one identity). One vote per distinct (key, digest, engine digest).
   */
  async votes(query: VoteQuery = {}): Promise<VoteResult> {
    const { image, platform, inputDigest } = query;
    if (image !== undefined && platform !== undefined && inputDigest !== undefined) {
      const key = identityKey({ image, platform, inputDigest });
      const value = await this.#gate.read(() => this.#tally.get(key));
      return this.#readTallies(value === undefined ? [] : [[key, value]]);
    }
    const prefix = image === undefined ? [] : platform === undefined ? [image] : [image, platform];
    return this.#readTallies(this.#batches<string>(this.#tally, prefixRange(...prefix)));
  }

  /** Votes of many identities (identityKey strings) with one point read each, in one call. */
  async votesForIdentities(identities: readonly string[]): Promise<VoteResult> {
    const values = await this.#gate.read(() => this.#tally.getMany([...identities]));
    return this.#readTallies(identities.flatMap((key, i) => (values[i] === undefined ? [] : [[key, values[i]!] as [string, string]])));
  }

  /**
   * Votes for a set of images with one range read from the first to the last image: one
   * iterator instead of one per image (a manifest names hundreds).
   */
  async votesForImages(images: Iterable<string>): Promise<VoteResult> {
    const wanted = new Set(images);
    const sorted = [...wanted].sort();
    if (sorted.length === 0) return { votes: [], problems: [] };
    const range = { gte: prefixRange(sorted[0]!).gte, lt: prefixRange(sorted.at(-1)!).lt };
    return this.#readTallies(this.#batches<string>(this.#tally, range), (key) => wanted.has(key.slice(0, key.indexOf(SEP))));
  }

  async #readTallies(source: AsyncIterable<[string, string][]> | [string, string][], keep: (key: string) => boolean = () => true): Promise<VoteResult> {
    const result: VoteResult = { votes: [], problems: [] };
    const read = (key: string, value: string) => {
      if (!keep(key)) return;
      const problems: string[] = [];
      parseTally(key, value, result.votes, problems);
      for (const problem of problems) result.problems.push({ sublevel: 'tally', key, problem });
    };
    if (Array.isArray(source)) source.forEach(([key, value]) => read(key, value));
    else for await (const batch of source) for (const [key, value] of batch) read(key, value);
    return result;
  }

  /** Votes a key made, in envelope-hash order: a range read of the key index. */
  async votesByKey(keyid: string): Promise<VoteResult> {
    const result: VoteResult = { votes: [], problems: [] };
    for await (const batch of this.#batches<string>(this.#key, prefixRange(keyid))) {
      for (const [key, value] of batch) {
        const vote = parseIndexEntry(keyid, key.slice(keyid.length + 1), value);
        if (typeof vote === 'string') result.problems.push({ sublevel: 'key', key, problem: vote });
        else result.votes.push(vote);
      }
    }
    return result;
  }

  /**
   * Waits for a write batch; a failure is a StoreError that says what was not stored and why:
   * STORE_FULL when the disk is full (nothing of the batch is stored or acknowledged; reads go
   * on, and the next write tries again), STORE_WRITE_FAILED for any other I/O error.
   */
  async #written(write: Promise<void>, what: string): Promise<void> {
    try {
      await write;
    } catch (error) {
      const cause = ((error as { cause?: Error }).cause ?? error) as Error;
      const failure = isFull(cause)
        ? new StoreError('STORE_FULL', `store ${this.path}: ${what} not stored: the disk is full (${cause.message}); free space and writes go on`, { cause: error })
        : new StoreError('STORE_WRITE_FAILED', `store ${this.path}: ${what} not stored: ${cause.message}`, { cause: error });
      if (this.#damaged === undefined) for (const listener of this.#health) listener({ event: 'write_failed', code: failure.code as 'STORE_FULL', error: failure.message });
      this.#damaged = cause;
      throw failure;
    }
  }

  /**
   * Before a write: after a failed one, reopens the store (store/reopen.ts) once the disk has
   * room, so nothing is appended behind a torn log record; until then every write is refused
   * STORE_FULL without touching LevelDB, and reads go on.
   */
  async #writable(): Promise<void> {
    if (this.#damaged === undefined) return;
    const noRoom = await noRoomToReopen(this.path);
    if (noRoom !== undefined) throw new StoreError('STORE_FULL', `store ${this.path}: not written: a write failed (${this.#damaged.message}) and the disk has ${noRoom}; free space and the next write goes on`);
    const reopened = await this.#gate.exclusive(async () => {
      await this.#db.close();
      await this.#db.open();
      // Closing the database closed its sublevels with it.
      await Promise.all([this.#env, this.#tally, this.#key, this.#pgp].map((sub) => sub.open()));
    }, REOPEN_WAIT_MS);
    if (!reopened) throw new StoreError('STORE_WRITE_FAILED', `store ${this.path}: not written: a write failed (${this.#damaged.message}) and reads still running after ${REOPEN_WAIT_MS / 1000} s keep the store from reopening; the next write tries again`);
    this.#damaged = undefined;
    for (const listener of this.#health) listener({ event: 'reopened' });
  }

  /** Raw entries of one sublevel in key order, in batches: what `store check` walks. */
  entries(sublevel: Sublevel): AsyncGenerator<[string, string | Uint8Array][]> {
    return this.#batches<string | Uint8Array>(this.#sublevel(sublevel), {});
  }

  /** Raw values of some keys of one sublevel (undefined where absent): `store check`'s point reads. */
  valuesAt(sublevel: Sublevel, keys: readonly string[]): Promise<(string | Uint8Array | undefined)[]> {
    const sub = this.#sublevel(sublevel) as unknown as { getMany(keys: string[]): Promise<(string | Uint8Array | undefined)[]> };
    return this.#gate.read(() => sub.getMany([...keys]));
  }

  #sublevel(name: Sublevel) {
    return { env: this.#env, tally: this.#tally, key: this.#key, pgp: this.#pgp }[name];
  }

  /** Every stored envelope hash in order, optionally within a range. */
  async *hashes(range: Range = {}): AsyncGenerator<string> {
    for await (const batch of this.#batches(this.#env, range, false)) for (const [key] of batch) yield key;
  }

  async count(): Promise<number> {
    let n = 0;
    for await (const batch of this.#batches(this.#env, {}, false)) n += batch.length;
    return n;
  }

  /**
   * Every tally as of one moment, and every change after it: between two writes, `listener` is
   * registered and a snapshot iterator over the tallies is opened, so each write is seen exactly
   * once, in the snapshot or by the listener (called in write order, synchronously after each
   * write). Returns the snapshot's batches and a function that stops the listener.
   */
  followTallies(listener: TallyListener): Promise<{ snapshot: AsyncGenerator<[string, string][]>; stop: () => void }> {
    const run = this.#writing.then(() => {
      this.#open();
      // Between writes no reopen runs (reopens are writes), so the gate is open: entered now, left by #drain.
      void this.#gate.enter();
      this.#tallyListeners.add(listener);
      const snapshot = this.#drain<string>(this.#tally.iterator({}));
      return { snapshot, stop: () => void this.#tallyListeners.delete(listener) };
    });
    this.#writing = run.catch(() => undefined);
    return run;
  }

  #open(): void {
    if (this.#db.status !== 'open') throw new StoreError('STORE_CLOSED', `store ${this.path}: read after close`);
  }

  /** A range read in batches (nextv): one await per thousand entries, not per entry. */
  async *#batches<V>(sub: Ranged, range: Range, values = true): AsyncGenerator<[string, V][]> {
    await this.#gate.enter();
    let iterator;
    try {
      this.#open();
      iterator = sub.iterator({ ...range, values });
    } catch (error) {
      this.#gate.leave();
      throw error;
    }
    yield* this.#drain<V>(iterator);
  }

  /** Reads an iterator opened inside the read gate to its end, then closes it and leaves the gate. */
  async *#drain<V>(iterator: ReturnType<Ranged['iterator']>): AsyncGenerator<[string, V][]> {
    try {
      for (;;) {
        const batch = await iterator.nextv(READ_BATCH);
        if (batch.length === 0) return;
        yield batch as [string, V][];
      }
    } finally {
      await iterator.close();
      this.#gate.leave();
    }
  }
}

/** Whether a LevelDB error is the disk (or a quota) being full. */
function isFull(error: Error): boolean {
  return /no space left|ENOSPC|quota exceeded|EDQUOT/i.test(error.message);
}
