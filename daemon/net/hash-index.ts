/**
 * Every stored envelope hash in memory, with the bucket summary sync compares (protocol/sync.ts).
 * Loaded once at start, then kept current by the store's added-listener: a sync round then
 * costs no store scan, and gossip asks "stored already?" without a read.
 * The load (one scan of the envelope keys, seconds at a million) runs in the background, so the
 * daemon answers before it ends: until `ready`, the size and summary are partial, and users
 * fall back (gossip asks the store) or wait (sync serves "not ready", a round waits on `loaded`).
 *
 * Compact, because a reproducer's store grows for years: per bucket (first hash byte) one
 * sorted byte array of 32-byte hashes, binary-searched by the 8-byte envelope id, plus a short
 * unsorted tail that is merged in when full. 1,000,000 envelopes take ~32 MB (a Map of hex
 * strings took ~375 MB).
 */
import { BucketSummary, BUCKETS, HASH_BYTES, ID_BYTES } from '../../protocol/sync.ts';
import type { AttestationStore } from '../../store/store.ts';

/** What the index reads of the store: its hashes once, then what is added. */
export type IndexedStore = Pick<AttestationStore, 'hashes' | 'onAdded'>;

/** Entries added to a bucket before they are merged into its sorted part. */
const TAIL = 64;

/** One bucket's hashes: `sorted` (ascending, `count` of them) then `tail` (`tailCount`, unsorted). */
class Bucket {
  sorted: Uint8Array = new Uint8Array(0);
  count = 0;
  readonly tail = new Uint8Array(TAIL * HASH_BYTES);
  tailCount = 0;

  /** Offset in `sorted` or, as -1 - offset, in `tail` of the hash with this id; undefined when none. */
  find(id: Uint8Array): number | undefined {
    let low = 0;
    let high = this.count - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const order = compareId(this.sorted, middle * HASH_BYTES, id);
      if (order === 0) return middle * HASH_BYTES;
      if (order < 0) low = middle + 1;
      else high = middle - 1;
    }
    for (let i = 0; i < this.tailCount; i++) if (compareId(this.tail, i * HASH_BYTES, id) === 0) return -1 - i * HASH_BYTES;
    return undefined;
  }

  hashAt(offset: number): Uint8Array {
    return offset >= 0 ? this.sorted.subarray(offset, offset + HASH_BYTES) : this.tail.subarray(-1 - offset, -1 - offset + HASH_BYTES);
  }

  /** Adds a hash unless one with its id is here; says whether it did. */
  add(hash: Uint8Array): boolean {
    // In order (a store loads its keys sorted): straight onto the sorted part, no search.
    if (this.tailCount === 0 && (this.count === 0 || compareId(this.sorted, (this.count - 1) * HASH_BYTES, hash) < 0)) {
      this.#reserve(this.count + 1);
      this.sorted.set(hash, this.count * HASH_BYTES);
      this.count += 1;
      return true;
    }
    if (this.find(hash) !== undefined) return false;
    this.tail.set(hash, this.tailCount * HASH_BYTES);
    this.tailCount += 1;
    if (this.tailCount === TAIL) this.#merge();
    return true;
  }

  /** Takes `sorted` (ascending, distinct ids) as this empty bucket's entries, without a copy. */
  adopt(sorted: Uint8Array): void {
    this.sorted = sorted;
    this.count = sorted.length / HASH_BYTES;
  }

  /** Every id, sorted part first. */
  *ids(): Generator<Uint8Array> {
    for (let i = 0; i < this.count; i++) yield this.sorted.slice(i * HASH_BYTES, i * HASH_BYTES + ID_BYTES);
    for (let i = 0; i < this.tailCount; i++) yield this.tail.slice(i * HASH_BYTES, i * HASH_BYTES + ID_BYTES);
  }

  /** Room in `sorted` for `entries`, growing by half. */
  #reserve(entries: number): void {
    if (entries * HASH_BYTES <= this.sorted.length) return;
    const grown = new Uint8Array(Math.max(16, Math.ceil(entries * 1.5)) * HASH_BYTES);
    grown.set(this.sorted.subarray(0, this.count * HASH_BYTES));
    this.sorted = grown;
  }

  /** The number of sorted entries whose id is below `id`. */
  #rank(id: Uint8Array): number {
    let low = 0;
    let high = this.count;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareId(this.sorted, middle * HASH_BYTES, id) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /**
   * Merges the tail into the sorted part in place, from the end: each tail entry (largest
   * first) finds its rank by binary search and the block of sorted entries above it moves up
   * once, so a merge costs a few searches and at most one pass of memory moves.
   */
  #merge(): void {
    const tail = Array.from({ length: this.tailCount }, (_, i) => this.tail.slice(i * HASH_BYTES, (i + 1) * HASH_BYTES));
    tail.sort((a, b) => compareId(a, 0, b));
    this.#reserve(this.count + tail.length);
    let end = this.count;
    for (let i = tail.length - 1; i >= 0; i--) {
      const rank = this.#rank(tail[i]!);
      this.sorted.copyWithin((rank + i + 1) * HASH_BYTES, rank * HASH_BYTES, end * HASH_BYTES);
      this.sorted.set(tail[i]!, (rank + i) * HASH_BYTES);
      end = rank;
    }
    this.count += tail.length;
    this.tailCount = 0;
  }
}

/** Orders the 8-byte id at `offset` of `bytes` against the id at `at` of `id` (two big-endian words). */
function compareId(bytes: Uint8Array, offset: number, id: Uint8Array, at = 0): number {
  const a = word(bytes, offset);
  const b = word(id, at);
  if (a !== b) return a - b;
  return word(bytes, offset + 4) - word(id, at + 4);
}

const word = (bytes: Uint8Array, offset: number): number =>
  ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;

/** Hashes loaded per chunk (4 MiB). */
const CHUNK = 131_072;

/** Hashes `start` to `end` (exclusive) of `chunks`: a view when they lie in one chunk, else a copy. */
function slice(chunks: readonly Uint8Array[], start: number, end: number): Uint8Array {
  const first = Math.floor(start / CHUNK);
  const at = (n: number) => (n % CHUNK) * HASH_BYTES;
  if (Math.floor((end - 1) / CHUNK) === first) return chunks[first]!.subarray(at(start), at(end - 1) + HASH_BYTES);
  const copy = new Uint8Array((end - start) * HASH_BYTES);
  for (let n = start, to = 0; n < end; ) {
    const stop = Math.min(end, (Math.floor(n / CHUNK) + 1) * CHUNK);
    copy.set(chunks[Math.floor(n / CHUNK)]!.subarray(at(n), at(stop - 1) + HASH_BYTES), to);
    to += (stop - n) * HASH_BYTES;
    n = stop;
  }
  return copy;
}

/** Hex to a plain Uint8Array (one array shape everywhere keeps the comparisons fast). */
const bytesOf = (hex: string): Uint8Array => {
  const buffer = Buffer.from(hex, 'hex');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
};

export class HashIndex {
  readonly summary = new BucketSummary();
  readonly #buckets: Bucket[] = Array.from({ length: BUCKETS }, () => new Bucket());
  #size = 0;
  /** False while `open`'s load runs (an index filled by hand with `add` is complete). */
  #ready = true;
  /** Settles when the load has ended: true when it read the whole store, false when it failed. */
  loaded: Promise<boolean> = Promise.resolve(true);

  /**
   * An index of `store` that starts loading now, in the background; `failed` hears why a load
   * stopped (the store closed during it, a read error): the index then stays not ready.
   * The scan yields the hashes in ascending order, so they are written into fixed 4 MiB chunks
   * that the buckets then share as slices: nothing grows and is copied on the way (the garbage
   * of that, megabytes of buffers, waited for a full GC to leave the resident set).
   * Writes during the load are added after it (the added-listener is registered before the
   * scan: `add` keeps one entry per id).
   */
  static open(store: IndexedStore, failed: (error: Error) => void = () => {}): HashIndex {
    const index = new HashIndex();
    index.#ready = false;
    const later: string[] = [];
    store.onAdded((added) => {
      for (const a of added) {
        if (index.#ready) index.add(a.hash);
        else later.push(a.hash);
      }
    });
    index.loaded = (async () => {
      const chunks: Uint8Array[] = [];
      let writer: Buffer = Buffer.alloc(0);
      const last = new Uint8Array(HASH_BYTES);
      let count = 0;
      for await (const hash of store.hashes()) {
        if (count === chunks.length * CHUNK) {
          chunks.push(new Uint8Array(CHUNK * HASH_BYTES));
          writer = Buffer.from(chunks.at(-1)!.buffer);
        }
        const offset = (count % CHUNK) * HASH_BYTES;
        writer.write(hash, offset, HASH_BYTES, 'hex');
        // Not above the last id (a key that is not a hash): added one by one after the load.
        if (count > 0 && compareId(writer, offset, last) <= 0) {
          later.push(hash);
          continue;
        }
        last.set(writer.subarray(offset, offset + HASH_BYTES));
        count += 1;
      }
      index.#adopt(chunks, count);
      index.#ready = true;
      for (const hash of later.splice(0)) index.add(hash);
      return true;
    })().catch((error: Error) => {
      failed(error);
      return false;
    });
    return index;
  }

  /** Takes the first `count` hashes of `chunks` (ascending distinct ids, CHUNK a chunk) as the whole content of this empty index. */
  #adopt(chunks: readonly Uint8Array[], count: number): void {
    const at = (n: number) => chunks[Math.floor(n / CHUNK)]!.subarray((n % CHUNK) * HASH_BYTES, (n % CHUNK + 1) * HASH_BYTES);
    let start = 0;
    for (let b = 0; b < BUCKETS; b++) {
      let end = start;
      while (end < count && at(end)[0] === b) end += 1;
      this.#buckets[b]!.adopt(end === start ? new Uint8Array(0) : slice(chunks, start, end));
      start = end;
    }
    for (let n = 0; n < count; n++) this.summary.add(at(n));
    this.#size = count;
  }

  /** An index of `store`, loaded (tests and tools that need it whole at once). */
  static async load(store: AttestationStore): Promise<HashIndex> {
    let failure: Error | undefined;
    const index = HashIndex.open(store, (error) => (failure = error));
    await index.loaded;
    if (failure) throw failure;
    return index;
  }

  /** Whether the load has read the whole store: before, size and summary are partial. */
  get ready(): boolean {
    return this.#ready;
  }

  get size(): number {
    return this.#size;
  }

  has(hash: string): boolean {
    return this.lookup(idOf(hash)) === hash;
  }

  /** The full hash (hex) of a stored envelope with this id (hex), if any. */
  lookup(id: string): string | undefined {
    const bytes = bytesOf(id);
    if (bytes.length !== ID_BYTES) return undefined;
    const bucket = this.#buckets[bytes[0]!]!;
    const offset = bucket.find(bytes);
    return offset === undefined ? undefined : Buffer.from(bucket.hashAt(offset)).toString('hex');
  }

  /** Adds a hash (hex); one whose id is already here changes nothing. */
  add(hash: string): void {
    const bytes = bytesOf(hash);
    const bucket = this.#buckets[bytes[0]!]!;
    if (!bucket.add(bytes)) return;
    this.#size += 1;
    this.summary.add(bytes);
  }

  /** Up to `n` stored hashes (hex), spread evenly over the id space (and so over the store's tables). */
  sample(n: number): string[] {
    const picked = new Set<string>();
    for (let k = 0; k < n; k++) {
      const position = ((k + 0.5) * BUCKETS) / n;
      const bucket = this.#buckets[Math.floor(position)]!;
      const entries = bucket.count + bucket.tailCount;
      if (entries === 0) continue;
      const i = Math.floor((position % 1) * entries);
      const offset = i < bucket.count ? i * HASH_BYTES : -1 - (i - bucket.count) * HASH_BYTES;
      picked.add(Buffer.from(bucket.hashAt(offset)).toString('hex'));
    }
    return [...picked];
  }

  /** The ids of the envelopes in some buckets, as raw bytes. */
  *inBuckets(buckets: readonly number[]): Generator<Uint8Array> {
    for (const b of buckets) yield* this.#buckets[b]!.ids();
  }
}

/** The id of an envelope hash (hex): its first ID_BYTES. */
export const idOf = (hash: string): string => hash.slice(0, ID_BYTES * 2);
export const idHex = (id: Uint8Array): string => Buffer.from(id.buffer, id.byteOffset, ID_BYTES).toString('hex');
