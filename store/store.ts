/**
 * The attestation store: LevelDB on disk (DESIGN section 7). Envelopes are stored once under
 * their sha256 with vote, key and digest indexes, each insert one atomic batch. Nothing can
 * delete or overwrite what is stored: the only write is "add if absent".
 */
import { Level } from 'level';
import type { Attestation, Vote } from '../protocol/attestation.ts';
import { StoreError, type StoreProblem } from './errors.ts';
import { parseVoteEntry, prefixRange, SEP, voteKey, voteValue } from './keys.ts';

/** The part of a (sub)level that range reads use. */
interface Ranged {
  iterator(options: { gte?: string; lt?: string; values?: boolean }): { nextv(size: number): Promise<unknown[]>; close(): Promise<void> };
}

export interface VoteQuery {
  image?: string;
  platform?: string;
  inputDigest?: string;
}

export interface VoteResult {
  votes: Vote[];
  problems: StoreProblem[];
}

const READ_BATCH = 1000;

export class AttestationStore {
  readonly path: string;
  readonly #db: Level<string, string>;
  readonly #env;
  readonly #vote;
  readonly #key;
  readonly #dig;

  private constructor(path: string, db: Level<string, string>) {
    this.path = path;
    this.#db = db;
    this.#env = db.sublevel<string, Uint8Array>('env', { valueEncoding: 'view' });
    this.#vote = db.sublevel<string, string>('vote', { valueEncoding: 'utf8' });
    this.#key = db.sublevel<string, string>('key', { valueEncoding: 'utf8' });
    this.#dig = db.sublevel<string, string>('dig', { valueEncoding: 'utf8' });
  }

  /** Opens (creating when absent) the store at `path`. */
  static async open(path: string): Promise<AttestationStore> {
    const db = new Level<string, string>(path, { valueEncoding: 'utf8' });
    try {
      await db.open();
    } catch (error) {
      const cause = (error as { cause?: Error }).cause ?? error;
      throw new StoreError('STORE_OPEN_FAILED', `store ${path}: cannot open LevelDB (${(cause as Error).message})`, { cause: error });
    }
    return new AttestationStore(path, db);
  }

  async close(): Promise<void> {
    await this.#db.close();
  }

  async has(hash: string): Promise<boolean> {
    return (await this.#env.get(hash)) !== undefined;
  }

  /** The exact envelope bytes stored under a hash. */
  async get(hash: string): Promise<Uint8Array | undefined> {
    return this.#env.get(hash);
  }

  /**
   * Adds a verified attestation and its indexes in one atomic batch. Adding an envelope that is
   * already stored changes nothing.
   */
  async put(attestation: Attestation): Promise<'added' | 'present'> {
    const [result] = await this.putMany([attestation]);
    return result!;
  }

  /**
   * Adds many verified attestations in one atomic batch (what sync and bulk import use), each
   * envelope once: those already stored, or repeated in the list, change nothing.
   */
  async putMany(attestations: readonly Attestation[]): Promise<('added' | 'present')[]> {
    const stored = await this.#env.getMany(attestations.map((a) => a.hash));
    const seen = new Set<string>();
    const batch = this.#db.batch();
    const results = attestations.map((attestation, i) => {
      if (stored[i] !== undefined || seen.has(attestation.hash)) return 'present' as const;
      seen.add(attestation.hash);
      batch.put(attestation.hash, attestation.bytes, { sublevel: this.#env });
      for (const vote of attestation.votes) {
        const key = voteKey(vote);
        batch.put(key, voteValue(vote), { sublevel: this.#vote });
        batch.put(vote.keyid + SEP + vote.envelope, key, { sublevel: this.#key });
        batch.put([vote.digest, vote.envelope, vote.keyid].join(SEP), key, { sublevel: this.#dig });
        if (vote.engineDigest) batch.put([vote.engineDigest, vote.envelope, vote.keyid].join(SEP), key, { sublevel: this.#dig });
      }
      return 'added' as const;
    });
    if (seen.size > 0) await batch.write();
    else await batch.close();
    return results;
  }

  /** Votes for an image, an image and platform, one identity, or everything; a range read. */
  async votes(query: VoteQuery = {}): Promise<VoteResult> {
    const fields = [query.image, query.platform, query.inputDigest];
    const prefix = fields.slice(0, fields.findIndex((f) => f === undefined) >>> 0).filter((f): f is string => f !== undefined);
    return this.#readVotes(prefixRange(...prefix));
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
    return this.#readVotes(range, (key) => wanted.has(key.slice(0, key.indexOf(SEP))));
  }

  async #readVotes(range: { gte?: string; lt?: string }, keep: (key: string) => boolean = () => true): Promise<VoteResult> {
    const result: VoteResult = { votes: [], problems: [] };
    for await (const batch of this.#batches<string>(this.#vote, range)) {
      for (const [key, value] of batch) {
        if (!keep(key)) continue;
        const vote = parseVoteEntry(key, value);
        if (typeof vote === 'string') result.problems.push({ sublevel: 'vote', key, problem: vote });
        else result.votes.push(vote);
      }
    }
    return result;
  }

  /** Votes a key made, in envelope-hash order. */
  async votesByKey(keyid: string): Promise<VoteResult> {
    return this.#votesVia(this.#key, 'key', keyid);
  }

  /** Votes whose canonical or engine digest is `digest`. */
  async votesByDigest(digest: string): Promise<VoteResult> {
    return this.#votesVia(this.#dig, 'dig', digest);
  }

  /** Follows an index whose values are vote keys. */
  async #votesVia(index: Ranged, name: string, prefix: string): Promise<VoteResult> {
    const result: VoteResult = { votes: [], problems: [] };
    for await (const [key, voteKeyText] of this.#entries<string>(index, prefixRange(prefix))) {
      const value = await this.#vote.get(voteKeyText);
      const vote = value === undefined ? `index names missing vote ${JSON.stringify(voteKeyText)}` : parseVoteEntry(voteKeyText, value);
      if (typeof vote === 'string') result.problems.push({ sublevel: name, key, problem: vote });
      else result.votes.push(vote);
    }
    return result;
  }

  /** Every stored envelope hash, in order. */
  async *hashes(range: { gte?: string; lt?: string } = {}): AsyncGenerator<string> {
    for await (const [key] of this.#entries(this.#env, range, false)) yield key;
  }

  async count(): Promise<number> {
    let n = 0;
    for await (const _ of this.hashes()) n += 1;
    return n;
  }

  /** Entry by entry, for small reads. */
  async *#entries<V>(sub: Ranged, range: { gte?: string; lt?: string }, values = true): AsyncGenerator<[string, V]> {
    for await (const batch of this.#batches<V>(sub, range, values)) yield* batch;
  }

  /** A range read in batches (nextv): one await per thousand entries, not per entry. */
  async *#batches<V>(sub: Ranged, range: { gte?: string; lt?: string }, values = true): AsyncGenerator<[string, V][]> {
    if (this.#db.status !== 'open') throw new StoreError('STORE_CLOSED', `store ${this.path}: read after close`);
    const iterator = sub.iterator({ ...range, values });
    try {
      for (;;) {
        const batch = await iterator.nextv(READ_BATCH);
        if (batch.length === 0) return;
        yield batch as [string, V][];
      }
    } finally {
      await iterator.close();
    }
  }
}
