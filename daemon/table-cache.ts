/**
 * Keeps LevelDB's mapped tables out of the daemon's resident set after big reads (issue 11).
 * LevelDB memory-maps every table in its cache (at most 64 with the store's maxOpenFiles of 74,
 * store/store.ts), and each page a read touched stays resident until its table leaves the
 * cache. A scan of the store (the hash index and status board at start; a peer syncing
 * everything from us) reads whole tables, so at a million envelopes ~120 MB of mapped pages
 * stayed (RssFile). A few hundred point reads spread over the key space replace the cached
 * tables by ones of which only the index block and one data block were read: RssFile went from
 * 185 to 73 MB (1M store; 57 MB of it is the node binary), in ~0.2 s, on a busy machine.
 * This runs once the start-up scans are done, and again when sync traffic has gone quiet for
 * one interval after some; each time, V8's pooled pages are then handed back too when the
 * resident set has grown enough for it (daemon/heap-release.ts), in the same log line.
 */
import type { AttestationStore } from '../store/store.ts';
import { exposedGc, heapRelease, type HeapRelease } from './heap-release.ts';
import type { Log } from './log.ts';
import type { HashIndex } from './net/hash-index.ts';

/** Point reads per cool-down: well over the 64 cached tables, spread over all of them. */
const READS = 256;

export interface TableCacheInit {
  store: AttestationStore;
  index: HashIndex;
  /** Resolves when the start-up scans are done. */
  scanned: Promise<unknown>;
  /** Grows with sync traffic (bytes in and out). */
  activity: () => number;
  /** Between two looks at `activity`. Default 15 s. */
  intervalMs?: number;
  log: Log;
  /** After each release of the tables. Default: last-resort collections with the exposed gc(), if any. */
  heap?: HeapRelease;
}

/** Starts cooling the table cache; returns its stop. */
export function coolTableCache(init: TableCacheInit): () => void {
  let seen = init.activity();
  let busy = false;
  let stopped = false;
  const heap = init.heap ?? heapRelease(exposedGc(), init.log);
  const cool = async (reason: string) => {
    const t = performance.now();
    const hashes = init.index.sample(READS);
    await init.store.getMany(hashes);
    const ms = Math.round(performance.now() - t);
    init.log('store.tables_released', { reason, reads: hashes.length, ms, ...heap.release() });
  };
  const failed = (error: Error) => {
    if (!stopped) init.log('store.error', { error: `releasing mapped tables: ${error.message}` });
  };
  void init.scanned.then(() => (stopped ? undefined : cool('start-up scans done'))).catch(failed);
  const timer = setInterval(() => {
    const now = init.activity();
    if (now !== seen) {
      seen = now;
      busy = true;
    } else if (busy) {
      busy = false;
      void cool('sync quiet').catch(failed);
    }
  }, init.intervalMs ?? 15_000);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
