/**
 * Hands V8's reserved pages back to the system once a burst of sync is over (issue 11). A
 * served sync grows V8's heap (frames, envelope copies, streams) and a normal full collection
 * frees the objects but keeps ~100 MB of their pages pooled for reuse, resident. V8's
 * last-resort collection (`gc({ type: 'major', execution: 'sync', flavor: 'last-resort' })`:
 * the gc extension's options, src/extensions/gc-extension.cc) collects repeatedly, compacts and
 * releases the pooled pages. The daemon gets gc() from `--expose-gc` (daemon/runtime-tuning.ts);
 * started otherwise, there is none and nothing is collected (said once, at debug level).
 * The collection stops the daemon's JavaScript while it runs (0.1-0.4 s at a million envelopes,
 * busy machine), so it runs only where the table cache is cooled (daemon/table-cache.ts: after
 * the start-up scans, after a burst of sync) and only when the resident set has grown by
 * GROWTH_MB since the last one: small syncs and idle rounds never pay for it.
 */
import type { Log } from './log.ts';

/** V8's gc() with the options used here (without a flavor: a normal full collection). */
export type Gc = (options: { type: 'major'; execution: 'sync'; flavor?: 'last-resort' }) => void;

/** Growth of the resident set since the last collection (MB) that makes the next one worth its pause. */
export const GROWTH_MB = 32;

const mb = (bytes: number) => Math.round(bytes / 1048576);

/** The exposed gc(), if this process was started with --expose-gc. */
export function exposedGc(): Gc | undefined {
  const gc: unknown = (globalThis as { gc?: unknown }).gc;
  return typeof gc === 'function' ? (gc as Gc) : undefined;
}

/** Whether a collection is due: the resident set (MB) has grown by `growthMb` since the last one's (undefined: none yet). */
export function collectionDue(rssMb: number, lastMb: number | undefined, growthMb = GROWTH_MB): boolean {
  return lastMb === undefined || rssMb - lastMb >= growthMb;
}

export interface HeapRelease {
  /** Collects if due; returns the fields a log line says of it (collected or why not; the pause, wall and CPU of all threads, ms; RSS before and after, MB). */
  release(): Record<string, unknown>;
}

/** A releaser with its own memory of the last collection; `gc` undefined: never collects, says so once at debug level. */
export function heapRelease(gc: Gc | undefined, log: Log, growthMb = GROWTH_MB): HeapRelease {
  let lastMb: number | undefined;
  let told = false;
  return {
    release() {
      const rssMb = mb(process.memoryUsage.rss());
      if (!gc) {
        if (!told) log('heap.gc_unavailable', { why: 'gc() is not exposed (the daemon runs with --expose-gc when started by `stagex-node start`): V8 keeps its pooled pages' }, 'debug');
        told = true;
        return { gc: 'unavailable', rssMb };
      }
      if (!collectionDue(rssMb, lastMb, growthMb)) return { gc: 'not due', rssMb, rssAfterLastGcMb: lastMb };
      const [t, cpu] = [performance.now(), process.cpuUsage()];
      gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
      const gcMs = Math.round(performance.now() - t);
      const { user, system } = process.cpuUsage(cpu);
      lastMb = mb(process.memoryUsage.rss());
      return { gc: 'last-resort', gcMs, gcCpuMs: Math.round((user + system) / 1000), rssMb, rssAfterGcMb: lastMb };
    },
  };
}
