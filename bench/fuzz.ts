/**
 * The large fuzzing run: every decoder target of test/fuzz/targets (the slice CI runs is
 * test/fuzz/*.fuzz.test.ts) for FUZZ_RUNS cases each, each decoder in its own worker thread
 * with a heap cap (unbounded memory ends the worker: a crash) and a watchdog (a worker whose
 * case counter stops for HANG_SECONDS is stuck in a synchronous loop: a hang; asynchronous cases
 * are bounded by CASE_MS in test/fuzz/harness.ts). Prints per decoder: cases, accepted,
 * rejected, crashes, hangs, the slowest case and a histogram of rejection codes; exits 1 on any
 * crash or hang. A correctness run, not a timing benchmark: run it niced on a shared machine.
 * Run: nice -n 19 node bench/fuzz.ts   (env: FUZZ_RUNS=100000, FUZZ_SEED=1, FUZZ_TARGETS=a,b)
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { runCase, type FuzzTarget, type Outcome } from '../test/fuzz/harness.ts';

const HANG_SECONDS = 30;
/** Loading the targets (signing their seed files) on a busy machine; the watchdog starts after. */
const STARTUP_SECONDS = 600;
const HEAP_MB = 1024;
/** Crash examples kept per decoder, and the characters of each input shown. */
const EXAMPLES = 3;
const SHOWN = 160;

interface Job {
  name: string;
  runs: number;
  seed: number;
  counter: SharedArrayBuffer;
}

interface Report {
  name: string;
  cases: number;
  accepted: number;
  rejected: Record<string, number>;
  crashes: number;
  hangs: number;
  examples: string[];
  slowest: { ms: number; input: string };
  seconds: number;
}

/** An input, shortened, for a report line. */
function show(input: unknown): string {
  const text = input instanceof Uint8Array ? `${input.length} bytes ${Buffer.from(input.subarray(0, SHOWN / 2)).toString('hex')}` : fc.stringify(input);
  return text.length > SHOWN ? `${text.slice(0, SHOWN)}... (${text.length} chars)` : text;
}

async function fuzzInWorker(job: Job): Promise<Report> {
  const { TARGETS } = await import('../test/fuzz/targets/index.ts');
  const target = TARGETS.find((t) => t.name === job.name) as FuzzTarget<unknown>;
  const counter = new Int32Array(job.counter);
  const report: Report = { name: job.name, cases: 0, accepted: 0, rejected: {}, crashes: 0, hangs: 0, examples: [], slowest: { ms: 0, input: '' }, seconds: 0 };
  const start = performance.now();
  const tally = (outcome: Outcome, input: unknown) => {
    report.cases += 1;
    if (outcome.ms > report.slowest.ms) report.slowest = { ms: outcome.ms, input: show(input) };
    if (outcome.kind === 'accepted') report.accepted += 1;
    else if (outcome.kind === 'rejected') report.rejected[outcome.code] = (report.rejected[outcome.code] ?? 0) + 1;
    else {
      report[outcome.kind === 'crash' ? 'crashes' : 'hangs'] += 1;
      if (report.examples.length < EXAMPLES) report.examples.push(`${outcome.kind} on ${show(input)}: ${outcome.kind === 'crash' ? outcome.error : `${outcome.ms.toFixed(0)} ms`}`);
    }
  };
  parentPort!.postMessage('started');
  // Every case passes: the run counts outcomes instead of stopping at the first failure.
  await fc.check(fc.asyncProperty(target.arbitrary, async (input) => {
    tally(await runCase(target, input), input);
    Atomics.add(counter, 0, 1);
    return true;
  }), { seed: job.seed, numRuns: job.runs });
  report.seconds = (performance.now() - start) / 1000;
  return report;
}

function hungReport(job: Job, done: number, why: string): Report {
  return { name: job.name, cases: done + 1, accepted: 0, rejected: {}, crashes: why.startsWith('hang') ? 0 : 1, hangs: why.startsWith('hang') ? 1 : 0, examples: [`case ${done + 1} of seed ${job.seed}: ${why}`], slowest: { ms: NaN, input: '' }, seconds: NaN };
}

/** One decoder in a worker, watched. */
function runWorker(job: Job): Promise<Report> {
  return new Promise((resolve) => {
    const counter = new Int32Array(job.counter);
    const worker = new Worker(new URL(import.meta.url), { workerData: job, resourceLimits: { maxOldGenerationSizeMb: HEAP_MB } });
    let started = false;
    let seen = -1;
    let still = 0;
    const watchdog = setInterval(() => {
      const now = Atomics.load(counter, 0);
      still = now === seen ? still + 1 : 0;
      seen = now;
      if (still >= (started ? HANG_SECONDS : STARTUP_SECONDS)) {
        clearInterval(watchdog);
        void worker.terminate();
        resolve(hungReport(job, now, started ? `hang: no case finished for ${HANG_SECONDS} s` : `hang: the targets did not load in ${STARTUP_SECONDS} s`));
      }
    }, 1000);
    worker.on('message', (message: 'started' | Report) => {
      if (message === 'started') {
        started = true;
        still = 0;
        return;
      }
      clearInterval(watchdog);
      resolve(message);
    });
    worker.once('error', (error) => {
      clearInterval(watchdog);
      resolve(hungReport(job, Atomics.load(counter, 0), `worker died: ${error.message}`));
    });
  });
}

function print(report: Report): void {
  const rejected = Object.values(report.rejected).reduce((n, c) => n + c, 0);
  console.log(`${report.name}: ${report.cases} cases in ${report.seconds.toFixed(1)} s, ${report.accepted} accepted, ${rejected} rejected, ${report.crashes} crashes, ${report.hangs} hangs`);
  console.log(`  slowest case: ${report.slowest.ms.toFixed(1)} ms on ${report.slowest.input}`);
  for (const [code, count] of Object.entries(report.rejected).sort(([, a], [, b]) => b - a)) console.log(`  ${code.padEnd(24)} ${count}`);
  for (const example of report.examples) console.log(`  ! ${example}`);
}

async function main(): Promise<void> {
  const runs = Number(process.env.FUZZ_RUNS ?? 100_000);
  const seed = Number(process.env.FUZZ_SEED ?? 1);
  const { TARGETS } = await import('../test/fuzz/targets/index.ts');
  const wanted = process.env.FUZZ_TARGETS?.split(',');
  const names = TARGETS.map((t) => t.name).filter((n) => !wanted || wanted.includes(n));
  console.log(`fuzz: ${runs} cases per decoder, seed ${seed}, ${names.length} decoders, case bound ${1000} ms, heap cap ${HEAP_MB} MB`);
  let failed = false;
  for (const name of names) {
    const report = await runWorker({ name, runs, seed, counter: new SharedArrayBuffer(4) });
    print(report);
    failed ||= report.crashes + report.hangs > 0;
  }
  console.log(failed ? 'FAIL: crashes or hangs above' : 'ok: 0 crashes, 0 hangs');
  process.exitCode = failed ? 1 : 0;
}

if (isMainThread) await main();
else parentPort!.postMessage(await fuzzInWorker(workerData as Job));
