/**
 * Catch-up benchmark (issue 11: a daemon offline while 100,000 attestations were made rejoins).
 * Daemon A holds N envelopes; daemon B starts empty with A as its bootstrap peer. Measured:
 * time until B has verified and stored all N (from B's start, and from its first answer);
 * B's sync bytes as a ratio to the bytes of the envelopes it lacked; the round trips (sync
 * requests B made); and the CPU each daemon spent per envelope (utime + stime of the whole
 * process, worker threads included, from /proc; b's main thread apart), which does not depend
 * on the machine's load, and both peak resident sets.
 * Targets: < 6 s and <= 1.05. Run: node bench/catchup.ts [N] [--force]
 */
import { readFileSync } from 'node:fs';
import { health, makeCluster, startMember, status, stopMember, until, type Member } from '../scripts/local-network.ts';
import { fillStore } from './fill-store.ts';
import { quietMachine } from './quiet.ts';
import { tempDir } from '../test/helpers/tmp.ts';

const { mark } = quietMachine();
const N = Number(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 100_000);
const [a, b] = await makeCluster(tempDir('stagex-catchup'), ['a', 'b'], 1, { networkId: 'bench' });

/**
 * CPU seconds a member's process has used so far: utime + stime in /proc, of all its threads
 * (workers, LevelDB's, V8's), or of its main thread alone (`main`: the task whose id is the pid).
 */
function cpuSeconds(member: Member, main = false): number {
  const pid = member.process!.pid;
  const stat = readFileSync(main ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A member's peak resident set so far, MB (VmHWM in /proc). */
function peakRss(member: Member): number {
  const status = readFileSync(`/proc/${member.process!.pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

console.log(`making ${N} attestations in a's store...`);
const bytes = await fillStore(a!, [a!, b!], N);
console.log(`${N} envelopes, ${(bytes / 1e6).toFixed(1)} MB`);

startMember(a!);
await until('a answers', async () => (await status(a!)) !== undefined, 30_000);
const aBefore = cpuSeconds(a!);
const started = performance.now();
startMember(b!, ['--log-level', 'debug']);
let answered = 0;
let bAtAnswer = 0;
let bMainAtAnswer = 0;
await until('b stored everything', async () => {
  const h = await health(b!);
  if (h && !answered) {
    answered = performance.now();
    bAtAnswer = cpuSeconds(b!);
    bMainAtAnswer = cpuSeconds(b!, true);
  }
  return h?.envelopes === N;
}, 300_000);
const done = performance.now();
const [aCpu, bCpu] = [cpuSeconds(a!) - aBefore, cpuSeconds(b!) - bAtAnswer];
const bMainCpu = cpuSeconds(b!, true) - bMainAtAnswer;
const [aPeak, bPeak] = [peakRss(a!), peakRss(b!)];
const s = await status(b!);
await Promise.all([stopMember(a!), stopMember(b!)]);
if (process.env.SHOW_LOG) console.log(b!.log.map((l) => l.slice(0, 160)).join('\n'));
const perEnvelope = (cpu: number) => `${((cpu * 1e6) / N).toFixed(0)} µs`;
console.log(`catch-up of ${N} envelopes: ${((done - answered) / 1000).toFixed(2)} s from b's first answer (target < 6 s), ${((done - started) / 1000).toFixed(2)} s from its process start${mark}`);
console.log(`sync bytes received ${(s.sync.bytesIn / 1e6).toFixed(1)} MB + sent ${(s.sync.bytesOut / 1e6).toFixed(2)} MB, envelopes ${(bytes / 1e6).toFixed(1)} MB: ratio ${((s.sync.bytesIn + s.sync.bytesOut) / bytes).toFixed(3)} (target <= 1.05)`);
console.log(`round trips (sync requests by b): ${s.sync.requests ?? 'n/a'}, ${s.sync.rounds} rounds`);
console.log(`CPU per envelope: b (syncing, from its first answer) ${perEnvelope(bCpu)} (${bCpu.toFixed(2)} s; main thread ${perEnvelope(bMainCpu)}, other threads ${perEnvelope(bCpu - bMainCpu)}), a (serving) ${perEnvelope(aCpu)} (${aCpu.toFixed(2)} s)${mark}`);
console.log(`peak resident set: b ${bPeak.toFixed(0)} MB, a ${aPeak.toFixed(0)} MB`);
