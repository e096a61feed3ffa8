/**
 * Every stored envelope hash in memory, with the bucket summary sync compares (protocol/sync.ts).
 * Loaded once at start, then kept current by the store's added-listener: a sync round then
 * costs no store scan. 100,000 envelopes take about 10 MB here.
 */
import { BucketSummary, ID_BYTES } from '../../protocol/sync.ts';
import type { AttestationStore } from '../../store/store.ts';

export class HashIndex {
  readonly summary = new BucketSummary();
  /** Per bucket: envelope id (hex of the first ID_BYTES) -> full hash. */
  readonly #byBucket: Map<string, string>[] = Array.from({ length: 256 }, () => new Map());

  static async load(store: AttestationStore): Promise<HashIndex> {
    const index = new HashIndex();
    for await (const hash of store.hashes()) index.add(hash);
    store.onAdded((added) => added.forEach((a) => index.add(a.hash)));
    return index;
  }

  get size(): number {
    return this.#byBucket.reduce((n, s) => n + s.size, 0);
  }

  has(hash: string): boolean {
    return this.lookup(idOf(hash)) === hash;
  }

  /** The full hash of a stored envelope with this id (hex), if any. */
  lookup(id: string): string | undefined {
    return this.#byBucket[parseInt(id.slice(0, 2), 16)]!.get(id);
  }

  add(hash: string): void {
    const bucket = this.#byBucket[parseInt(hash.slice(0, 2), 16)]!;
    const id = idOf(hash);
    if (bucket.has(id)) return;
    bucket.set(id, hash);
    this.summary.add(Buffer.from(hash, 'hex'));
  }

  /** The ids of the envelopes in some buckets, as raw bytes. */
  *inBuckets(buckets: readonly number[]): Generator<Uint8Array> {
    for (const b of buckets) for (const id of this.#byBucket[b]!.keys()) yield new Uint8Array(Buffer.from(id, 'hex'));
  }
}

/** The id of an envelope hash (hex): its first ID_BYTES. */
export const idOf = (hash: string): string => hash.slice(0, ID_BYTES * 2);
export const idHex = (id: Uint8Array): string => Buffer.from(id.buffer, id.byteOffset, ID_BYTES).toString('hex');
