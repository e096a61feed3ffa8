/**
 * Propagation latency as bench/propagation.ts and bench/flood.ts measure it: from submitting an
 * envelope to one daemon until every daemon logged storing it (`envelope.stored`, a debug
 * line), read from the daemons' log files afterwards.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Member } from '../scripts/local-network.ts';

/** The p-quantile (0..1) of ascending numbers. */
export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

/** Per envelope hash, the times (ms since the epoch) at which daemons logged storing it. */
export async function storedTimes(members: readonly Member[]): Promise<Map<string, number[]>> {
  const stored = new Map<string, number[]>();
  for (const m of members) {
    for (const line of (await readFile(join(m.dir, 'daemon.log'), 'utf8')).split('\n')) {
      if (!line.includes('"envelope.stored"')) continue;
      const { time, hash } = JSON.parse(line) as { time: string; hash: string };
      stored.set(hash, [...(stored.get(hash) ?? []), Date.parse(time)]);
    }
  }
  return stored;
}

/**
 * Latencies (ascending, ms) of the envelopes every one of `daemons` stored, from `sent` (hash ->
 * submission time), and how many (daemon, envelope) pairs are missing.
 */
export function allStoredLatencies(sent: ReadonlyMap<string, number>, stored: ReadonlyMap<string, number[]>, daemons: number): { latencies: number[]; lost: number } {
  const latencies: number[] = [];
  let lost = 0;
  for (const [hash, at] of sent) {
    const times = stored.get(hash) ?? [];
    if (times.length < daemons) lost += daemons - times.length;
    else latencies.push(Math.max(...times) - at);
  }
  return { latencies: latencies.sort((a, b) => a - b), lost };
}
