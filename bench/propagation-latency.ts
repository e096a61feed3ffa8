/**
 * Propagation latency as bench/propagation.ts and bench/flood.ts measure it: from submitting an
 * envelope to one daemon until every daemon stored it. bench/flood.ts reads the debug line
 * `envelope.stored` from the daemons' log files afterwards; bench/propagation.ts runs the
 * daemons at their normal (info) level and follows `verdict.trusted`, which a threshold-1
 * cluster logs once per new identity as its write lands. Also the CPU time of the daemons'
 * processes (utime + stime from /proc), which a busy machine changes far less than latency,
 * and their read and write system calls and bytes (/proc/<pid>/io: frames on the sockets,
 * store and log writes), which it does not change at all.
 */
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
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
 * Follows the members' logs (`member.log`, filled as lines arrive) for `verdict.trusted`: per
 * image, the times the daemons logged it and which daemon did. `poll()` reads the lines that
 * arrived since the last call and returns how many such lines there are in all.
 */
export function trustedFollower(members: readonly Member[]): { times: Map<string, number[]>; by: Map<string, string[]>; poll: () => number } {
  const times = new Map<string, number[]>();
  const by = new Map<string, string[]>();
  const read = members.map(() => 0);
  let count = 0;
  const poll = () => {
    members.forEach((m, i) => {
      for (; read[i]! < m.log.length; read[i]! += 1) {
        const line = m.log[read[i]!]!;
        if (!line.includes('"verdict.trusted"')) continue;
        const { time, image } = JSON.parse(line) as { time: string; image: string };
        times.set(image, [...(times.get(image) ?? []), Date.parse(time)]);
        by.set(image, [...(by.get(image) ?? []), m.name]);
        count += 1;
      }
    });
    return count;
  };
  return { times, by, poll };
}

/**
 * Where the slowest messages (all-stored latency >= `floor`) lost their time: whether one daemon
 * was late alone (the gap between the last daemon and the one before it, against the latency),
 * which daemons were last, and in which seconds of the run the messages were submitted (a stall
 * of the whole cluster puts them in the same seconds).
 */
export function tailBreakdown(sent: ReadonlyMap<string, number>, times: ReadonlyMap<string, number[]>, by: ReadonlyMap<string, string[]>, floor: number, start: number): string {
  const rows = [...sent].flatMap(([image, at]) => {
    const t = times.get(image) ?? [];
    const order = t.map((time, i) => ({ time, name: by.get(image)![i]! })).sort((a, b) => a.time - b.time);
    const last = order.at(-1);
    if (!last || last.time - at < floor || order.length < 2) return [];
    return [{ latency: last.time - at, alone: last.time - order.at(-2)!.time, half: order[Math.floor(order.length / 2)]!.time - at, last: last.name, second: Math.floor((at - start) / 1000) }];
  });
  const count = (xs: readonly (string | number)[]) => [...xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string | number, number>())].sort((a, b) => b[1] - a[1]).map(([x, n]) => (n > 1 ? `${x} x${n}` : `${x}`)).join(', ');
  const bySecond = new Map<number, number>();
  for (const [image, at] of sent) {
    const t = times.get(image) ?? [];
    const second = Math.floor((at - start) / 1000);
    if (t.length) bySecond.set(second, Math.max(bySecond.get(second) ?? 0, Math.max(...t) - at));
  }
  const slow = [...bySecond].filter(([, worst]) => worst >= floor / 2).map(([second, worst]) => `${second}: ${worst}`);
  return `seconds of the run whose slowest message took >= ${Math.round(floor / 2)} ms: ${slow.join(', ') || 'none'}; ${rows.length} messages >= ${floor} ms: latency to half the daemons ${rows.map((r) => r.half).sort((a, b) => a - b).join('/')} ms; ` +
    `last daemon late alone by ${rows.map((r) => r.alone).sort((a, b) => a - b).join('/')} ms; last daemon ${count(rows.map((r) => r.last))}; submitted in second ${count(rows.map((r) => r.second))}`;
}

/**
 * Latencies (ascending, ms) of the envelopes every one of `daemons` stored, from `sent` (key ->
 * submission time) and `stored` (key -> times), and how many (daemon, envelope) pairs are missing.
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

/** CPU time (ms, user + system) a process has used so far, from /proc/<pid>/stat; 0 once it is gone. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at state: utime and stime are 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Read and write system calls and bytes a process has made so far (/proc/<pid>/io); zeros once it is gone. */
export function ioCounts(pid: number): Io {
  try {
    const fields = Object.fromEntries(readFileSync(`/proc/${pid}/io`, 'utf8').trim().split('\n').map((l) => l.split(': ') as [string, string]));
    return { reads: Number(fields.syscr), writes: Number(fields.syscw), bytesRead: Number(fields.rchar), bytesWritten: Number(fields.wchar) };
  } catch {
    return { reads: 0, writes: 0, bytesRead: 0, bytesWritten: 0 };
  }
}

export interface Io { reads: number; writes: number; bytesRead: number; bytesWritten: number }

/** Summed I/O counts of the members' running daemons. */
export const clusterIo = (members: readonly Member[]): Io => members.reduce((sum, m) => {
  const io = m.process?.pid ? ioCounts(m.process.pid) : undefined;
  return io ? { reads: sum.reads + io.reads, writes: sum.writes + io.writes, bytesRead: sum.bytesRead + io.bytesRead, bytesWritten: sum.bytesWritten + io.bytesWritten } : sum;
}, { reads: 0, writes: 0, bytesRead: 0, bytesWritten: 0 });

/** USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS = 100;

/** Summed CPU time (ms) of the members' running daemons. */
export const clusterCpuMs = (members: readonly Member[]) => members.reduce((sum, m) => sum + (m.process?.pid ? cpuMs(m.process.pid) : 0), 0);
