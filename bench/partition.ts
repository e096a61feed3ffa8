/**
 * Partition-and-heal benchmark (issue: "two halves attest separately, reconnect, and converge
 * to the same verdicts within a measured time"): 6 daemons in two halves of 3 attest apart
 * (scripts/partition.ts), then every bootstrap list gains the other half and every daemon gets
 * SIGHUP; the time from the first SIGHUP until all 6 give the healed verdicts, per run, with
 * the median. Each run is a fresh network. Convergence runs on sync (gossip does not replay
 * history): dialling, identify, one reconciliation round per new peer.
 * Run: node bench/partition.ts [runs=5]
 */
import { attestAll, heal, startPartition, untilHalvesSettled } from '../scripts/partition.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { busy } from './quiet.ts';

const runs = Number(process.argv[2] ?? 5);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs: expected a whole number >= 1, got ${process.argv[2]}`);


const times: number[] = [];
for (let run = 1; run <= runs; run++) {
  const partition = await startPartition(tempDir('stagex-partition-bench'), { networkId: `partition-${run}` });
  try {
    await attestAll(partition);
    await untilHalvesSettled(partition);
    const load = await busy(2000);
    const ms = await heal(partition);
    times.push(ms);
    console.log(`run ${run}: heal -> converged ${Math.round(ms)} ms (CPUs ${Math.round(load * 100)} % busy before the heal)`);
  } finally {
    await partition.stop();
  }
}
const sorted = [...times].sort((a, b) => a - b);
console.log(`${runs} run(s), 6 daemons, 3 + 3: heal -> converged median ${Math.round(sorted[Math.floor(sorted.length / 2)]!)} ms, min ${Math.round(sorted[0]!)} ms, max ${Math.round(sorted.at(-1)!)} ms`);
