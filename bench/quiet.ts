/**
 * Benchmarks run only on a quiet machine: figures taken beside other work were off by 2-50x.
 * `quietMachine()` prints the 1-minute load average before a run and, above 0.5, either refuses
 * (exit 2) or, with BENCH_ANYWAY=1, marks every figure of the run as taken on a busy machine.
 */
import { loadavg } from 'node:os';

export const LOAD_LIMIT = 0.5;

export function quietMachine(): { load: number; mark: string } {
  const load = loadavg()[0]!;
  if (load <= LOAD_LIMIT) {
    console.log(`load average ${load.toFixed(2)} (<= ${LOAD_LIMIT}): quiet machine`);
    return { load, mark: '' };
  }
  if (process.env.BENCH_ANYWAY !== '1') {
    console.error(`load average ${load.toFixed(2)} is above ${LOAD_LIMIT}: benchmark refused (stop other work, or BENCH_ANYWAY=1 to mark the figures)`);
    process.exit(2);
  }
  console.log(`load average ${load.toFixed(2)} is above ${LOAD_LIMIT}: every figure below is MARKED busy`);
  return { load, mark: ' [BUSY MACHINE]' };
}
