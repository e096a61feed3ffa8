/**
 * Every stored envelope hash in memory, with the bucket summary sync compares (protocol/sync.ts).
 * Loaded once at start, then kept current by the store's added-listener: a sync round then
 * costs no store scan. 100,000 envelopes take about 10 MB here.
 */
import { BucketSummary, HASH_BYTES } from '../../protocol/sync.ts';
import type { AttestationStore } from '../../store/store.ts';

export class HashIndex {
  readonly summary = new BucketSummary();
  readonly #byBucket: Set<string>[] = Array.from({ length: 256 }, () => new Set());

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
    return this.#byBucket[parseInt(hash.slice(0, 2), 16)]!.has(hash);
  }

  add(hash: string): void {
    const bucket = this.#byBucket[parseInt(hash.slice(0, 2), 16)]!;
    if (bucket.has(hash)) return;
    bucket.add(hash);
    this.summary.add(Buffer.from(hash, 'hex'));
  }

  /** The hashes of some buckets as raw 32-byte values. */
  *inBuckets(buckets: readonly number[]): Generator<Uint8Array> {
    for (const b of buckets) for (const hash of this.#byBucket[b]!) yield new Uint8Array(Buffer.from(hash, 'hex'));
  }
}

export const hashHex = (hash: Uint8Array): string => Buffer.from(hash.buffer, hash.byteOffset, HASH_BYTES).toString('hex');
