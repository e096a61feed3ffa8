/**
 * Benchmarks run only on a quiet machine: figures taken beside other work were off by 2-50x.
 * `quietMachine()` prints the load averages before a run and, with the 1-minute one above 0.5,
 * either refuses (exit 2) or, with `--force`, marks every figure of the run
 * as taken on a busy machine.
 */
import { cpus, loadavg } from 'node:os';

export const LOAD_LIMIT = 0.5;

export function quietMachine(): { load: number; mark: string } {
  const averages = loadavg();
  const load = averages[0]!;
  const shown = averages.map((l) => l.toFixed(2)).join(' ');
  if (load <= LOAD_LIMIT) {
    console.log(`load average ${shown} (<= ${LOAD_LIMIT}): quiet machine`);
    return { load, mark: '' };
  }
  if (!process.argv.includes('--force')) {
    console.error(`load average ${shown}: above ${LOAD_LIMIT}, benchmark refused (stop other work, or pass --force to mark the figures)`);
    process.exit(2);
  }
  console.log(`load average ${shown}: above ${LOAD_LIMIT}, every figure below is MARKED`);
  return { load, mark: ` [NOT QUIET: load average ${load.toFixed(2)} > ${LOAD_LIMIT} at start]` };
}

/** Fraction of all CPUs busy over `ms`. */
export async function busy(ms: number): Promise<number> {
  const total = () => cpus().reduce((t, c) => ({ idle: t.idle + c.times.idle, all: t.all + Object.values(c.times).reduce((a, b) => a + b, 0) }), { idle: 0, all: 0 });
  const before = total();
  await new Promise((r) => setTimeout(r, ms));
  const after = total();
  return 1 - (after.idle - before.idle) / (after.all - before.all);
}
