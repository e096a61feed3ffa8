/**
 * A no-change second run over the demo tree (packages/, 5 images): one reproducer builds it
 * cold (`node <CLI> -c <config> build --json` in its own process, no engine cache, as
 * reproducers build), then runs the same command N more times with nothing changed. Every image
 * must come back `reused` (no engine build); the bench fails loudly otherwise. Target: the
 * no-change run, whole process (Node start included), < 2 s.
 *
 * Where the time goes: Node's own start (`node -e ''`), loading the CLI's modules (`--help`,
 * which loads everything and does nothing; and the modules the build command itself needs,
 * imported alone), and the run in-process (`cli(...)` of scripts/local-network.ts, modules
 * loaded), split into its phases by running the build command's steps here with timers around
 * the engine and the attestor.
 *
 * Needs the engine at /var/run/docker.sock and a source mirror: a directory already filled by
 * `bash scripts/demo-mirror.sh DIR`, else one filled into a temporary directory (which runs
 * `apt-get download` of the busybox seed from the machine's apt sources: not loopback).
 * Temporary directories and the loopback mirror go at exit; the engine tags of this run's input
 * digests (stagex/<image>:in-<digest>) are removed.
 * Run: node bench/rebuild.ts [runs] [mirror dir]   (default 7, a fresh mirror)
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { inputTag } from '../daemon/builder/api-build.ts';
import { createAttestor } from '../daemon/builder/attestor.ts';
import type { Engine } from '../daemon/builder/engine.ts';
import { machineFacts } from '../daemon/builder/machine.ts';
import { checkedEngine, planRun } from '../daemon/builder/prepare.ts';
import { runPlan, type Attestor } from '../daemon/builder/scheduler.ts';
import { answerQuery } from '../daemon/answers.ts';
import { daemonRunning, localApi } from '../daemon/client.ts';
import { loadContext } from '../daemon/context.ts';
import { storeSubmit } from '../daemon/ingest.ts';
import { AttestationStore } from '../store/store.ts';
import { CLI, cli } from '../scripts/local-network.ts';
import { demoMirrorDir, demoTree, reproducer } from '../test/helpers/demo-tree.ts';
import { tempDir } from '../test/helpers/tmp.ts';

const runs = Number(process.argv[2] ?? 7);
const TARGET_MS = 2000;
const ROOT = join(import.meta.dirname, '..');
/** The modules the build command's action uses (daemon/commands/build.ts's imports, without the CLI around it). */
const BUILD_MODULES = ['./daemon/answers.ts', './daemon/builder/attestor.ts', './daemon/builder/machine.ts', './daemon/builder/prepare.ts', './daemon/builder/scheduler.ts', './daemon/client.ts', './daemon/context.ts', './daemon/ingest.ts', './daemon/format.ts', './daemon/commands/args.ts', 'commander'];
/**
 * The CLI's module graph in groups, imported one group after another in a fresh process: each
 * group's time is what it adds to what came before. The first is a .ts file with no imports
 * (what starting Node's TypeScript stripper costs).
 */
const MODULE_GROUPS: [string, string[]][] = [
  ['first .ts file (Node starts its TypeScript stripper)', ['./daemon/log.ts']],
  ['zod', ['zod']],
  ['dockerode (+ docker-modem, ssh2)', ['dockerode']],
  ['level', ['level']],
  ['the build command\'s own modules (project code, commander)', BUILD_MODULES],
  ['the rest of the CLI (start: libp2p; init, verify, ...)', ['./daemon/cli.ts']],
];

interface Outcome { image: string; status: string; digest?: string; reason?: string }

/** Runs `node args...` to its end; wall time from spawn to exit (the bench's loop stays free: the mirror answers from it). */
function timed(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ ms: number; code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; });
    child.stderr.setEncoding('utf8').on('data', (c: string) => { err += c; });
    child.once('error', reject);
    child.once('close', (code) => resolve({ ms: performance.now() - start, code, out, err }));
  });
}

/** The images of a `build --json` answer; throws unless every one has `status` (and the code is 0). */
function expect(result: { code: number | null; out: string; err: string }, status: 'built' | 'reused', what: string): Outcome[] {
  if (result.code !== 0) throw new Error(`${what}: exit ${result.code}\n${result.err}`);
  const { images } = JSON.parse(result.out) as { images: Outcome[] };
  const wrong = images.filter((i) => i.status !== status);
  if (images.length !== 5 || wrong.length > 0) {
    throw new Error(`${what}: expected 5 images ${status}, got ${images.map((i) => `${i.image}=${i.status}${i.reason ? ` (${i.reason})` : ''}`).join(', ')}${status === 'reused' ? ': an engine build happened on a no-change run' : ''}`);
  }
  return images;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const stats = (xs: number[]) => ({ min: Math.min(...xs), median: median(xs), max: Math.max(...xs) });
const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
const row = (label: string, xs: number[]) => {
  const s = stats(xs);
  console.log(`${label.padEnd(58)} ${fmt(s.min).padStart(6)} ${fmt(s.median).padStart(6)} ${fmt(s.max).padStart(6)} ms`);
  return s;
};

async function repeat<T>(n: number, run: () => Promise<T>): Promise<T[]> {
  const all: T[] = [];
  for (let i = 0; i < n; i++) all.push(await run());
  return all;
}

const loadAtStart = loadavg();
// --- setup: one reproducer over a copy of the demo tree, a loopback mirror
const filled = process.argv[3] === undefined ? await demoMirrorDir() : { dir: process.argv[3] };
if ('skip' in filled) throw new Error(filled.skip);
const { tree, mirror } = await demoTree(filled.dir);
const { config } = await reproducer('rebuild', tree);
const context = await loadContext(config);
const docker = new Docker({ socketPath: context.config.builder.socket });

try {
  // --- 1. the cold build, as a user runs it
  const cold = await timed([CLI, '-c', config, 'build', '--json']);
  const built = expect(cold, 'built', 'first build');
  console.log(`load average at start: ${loadAtStart.map((l) => l.toFixed(2)).join(' ')} (2 shared cores: other work on the machine inflates every figure)`);
  console.log(`demo tree ${tree}: ${built.length} images (${built.map((i) => i.image).join(', ')}), ${runs} no-change runs each`);
  console.log(`first build, cold (5 engine builds, no engine cache), one process: ${(cold.ms / 1000).toFixed(1)} s`);
  console.log();
  console.log(`${''.padEnd(58)} ${'min'.padStart(6)} ${'median'.padStart(6)} ${'max'.padStart(6)}`);

  // --- 2. no-change runs, whole process
  const again = await repeat(runs, async () => {
    const run = await timed([CLI, '-c', config, 'build', '--json']);
    const images = expect(run, 'reused', 'no-change run');
    for (const image of images) {
      if (image.digest !== built.find((b) => b.image === image.image)!.digest) throw new Error(`no-change run: ${image.image} reused as ${image.digest}, built as another digest`);
    }
    return run.ms;
  });
  const process_ = row('no-change `build --json`, whole process', again);

  // --- where a process's time goes: Node, module loading
  const empty = row('`node -e \'\'`', (await repeat(runs, () => timed(['-e', '']))).map((r) => r.ms));
  const help = row('`node <CLI> --help` (every CLI module loaded, no work)', (await repeat(runs, () => timed([CLI, '--help']))).map((r) => r.ms));
  const importBuild = `await Promise.all(${JSON.stringify(BUILD_MODULES)}.map((m) => import(m)))`;
  const own = row('only the build command\'s modules (node -e import(...))', (await repeat(runs, () => timed(['--input-type=module', '-e', importBuild]))).map((r) => r.ms));
  const groupScript = `const times = []; for (const [name, mods] of ${JSON.stringify(MODULE_GROUPS)}) { const t = performance.now(); for (const m of mods) await import(m); times.push(performance.now() - t); } console.log(JSON.stringify(times));`;
  console.log('  module loading by group, in a fresh process, each after those above:');
  const groups = await repeat(runs, async () => JSON.parse((await timed(['--input-type=module', '-e', groupScript])).out) as number[]);
  for (const [i, [name]] of MODULE_GROUPS.entries()) row(`  ${name}`, groups.map((g) => g[i]!));
  const cache = tempDir('stagex-compile-cache');
  await timed([CLI, '--help'], { ...process.env, NODE_COMPILE_CACHE: cache });
  const cached = await repeat(runs, async () => {
    const run = await timed([CLI, '-c', config, 'build', '--json'], { ...process.env, NODE_COMPILE_CACHE: cache });
    expect(run, 'reused', 'no-change run with NODE_COMPILE_CACHE');
    return run.ms;
  });
  row('no-change run, whole process, NODE_COMPILE_CACHE warm', cached);

  // --- 3. in-process: the CLI's modules are loaded here already
  const inProcess = await repeat(runs + 1, async () => {
    const start = performance.now();
    const result = await cli('-c', config, 'build', '--json');
    const ms = performance.now() - start;
    expect(result, 'reused', 'in-process no-change run');
    return ms;
  });
  console.log(`${'in-process `cli(build --json)`, first call in this process'.padEnd(58)} ${fmt(inProcess[0]!).padStart(6)} ms`);
  const warm = row('in-process `cli(build --json)`, later calls', inProcess.slice(1));

  // --- the run's phases: build.ts's action, step by step, with the engine and attestor timed
  const phases = new Map<string, number[]>();
  const counts = new Map<string, number>();
  const add = (phase: string, ms: number, run: number) => {
    const list = phases.get(phase) ?? [];
    list[run] = (list[run] ?? 0) + ms;
    phases.set(phase, list);
  };
  const time = async <T>(phase: string, run: number, work: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await work();
    } finally {
      add(phase, performance.now() - start, run);
      if (run === 0) counts.set(phase, (counts.get(phase) ?? 0) + 1);
    }
  };
  for (let run = 0; run < runs; run++) {
    const total = performance.now();
    const ctx = await time('config + key + trust (loadContext)', run, () => loadContext(config));
    const prepared = await time('tree read + input digests + plan + pins (planRun)', run, () => planRun(ctx));
    const { engine, engineInfo } = await time('engine check (/_ping, /version)', run, () => checkedEngine(ctx.config));
    const machine = await time('machine facts (/proc/cpuinfo, os-release)', run, () => machineFacts(engineInfo));
    await time('daemon running? (local API, none here)', run, async () => daemonRunning(await localApi(ctx.config)));
    const store = await time('store open + close (LevelDB)', run, () => AttestationStore.open(ctx.config.store));
    const timedEngine: Engine = {
      ...engine,
      hasImage: (name) => time('engine hasImage (inspect)', run, () => engine.hasImage(name)),
      tag: (image, repo, tag) => time('engine tag', run, () => engine.tag(image, repo, tag)),
      loadImage: (archive) => time('engine loadImage (unexpected)', run, () => engine.loadImage(archive)),
      build: (request, onProgress) => time('engine build (unexpected)', run, () => engine.build(request, onProgress)),
    };
    const attestor = createAttestor({ context: ctx, tree: prepared.tree, submit: storeSubmit(store, ctx.policy), query: (params) => answerQuery(store, ctx.policy, params), machine });
    const timedAttestor: Attestor = {
      attest: (record) => time('store: attest (unexpected)', run, () => attestor.attest(record)),
      attested: (record) => time('store: own votes query (attested?)', run, () => attestor.attested(record)),
      verdict: (id) => time('store: verdict query (bootstrap gate)', run, () => attestor.verdict(id)),
    };
    const planStart = performance.now();
    const result = await runPlan({
      ...prepared, engine: timedEngine, engineInfo, log: () => {}, attestor: timedAttestor, socketPath: ctx.config.builder.socket,
      cache: ctx.config.builder.cache, outputs: ctx.config.builder.outputs, noCache: ctx.config.builder.noCache,
    });
    const planMs = performance.now() - planStart;
    const inner = ['engine hasImage (inspect)', 'engine tag', 'engine loadImage (unexpected)', 'engine build (unexpected)', 'store: attest (unexpected)', 'store: own votes query (attested?)', 'store: verdict query (bootstrap gate)']
      .reduce((sum, phase) => sum + (phases.get(phase)?.[run] ?? 0), 0);
    add('record reads (build.json, zod) + scheduling', planMs - inner, run);
    const closeStart = performance.now();
    await store.close();
    add('store open + close (LevelDB)', performance.now() - closeStart, run);
    add('total', performance.now() - total, run);
    const wrong = result.outcomes.filter((o) => o.outcome.status !== 'reused');
    if (wrong.length > 0) throw new Error(`phased run: ${wrong.map((o) => `${o.step.image}=${o.outcome.status}`).join(', ')}: expected every image reused`);
  }
  console.log();
  console.log(`the in-process run by phase (build.ts's action, ${runs} runs; calls per run in brackets):`);
  console.log(`${''.padEnd(58)} ${'min'.padStart(6)} ${'median'.padStart(6)} ${'max'.padStart(6)}`);
  for (const [phase, list] of phases) {
    if (phase === 'total') continue;
    const calls = counts.get(phase);
    row(`  ${phase}${calls && calls > 1 ? ` [${calls}]` : ''}`, list.map((x) => x ?? 0));
  }
  const phased = row('  total', phases.get('total')!);
  for (const phase of phases.keys()) if (phase.includes('unexpected')) throw new Error(`phased run: ${phase} happened on a no-change run`);

  console.log();
  console.log(`no-change run, whole process, median: ${fmt(process_.median)} ms = ${(process_.median / empty.median).toFixed(1)}x \`node -e ''\` (${fmt(empty.median)} ms)`);
  console.log(`  of which Node start ~${fmt(empty.median)} ms, CLI module loading ~${fmt(help.median - empty.median)} ms (--help minus node -e; build's own modules alone: ~${fmt(own.median - empty.median)} ms), run ~${fmt(warm.median)} ms warm in-process (${fmt(inProcess[0]!)} ms on a process's first call)`);
  console.log(`  the run in-process is ${(warm.median / process_.median * 100).toFixed(0)} % of the process; phased total ${fmt(phased.median)} ms`);
  console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`target: no-change run < ${TARGET_MS} ms: ${process_.median < TARGET_MS ? 'met' : 'NOT met'} (median ${fmt(process_.median)} ms, max ${fmt(process_.max)} ms)`);
} finally {
  await mirror.close();
  const digests = (await planRun(context).catch(() => undefined))?.plan.steps ?? [];
  let removed = 0;
  for (const step of digests) removed += await docker.getImage(inputTag(step.image, step.inputDigest).name).remove().then(() => 1, () => 0);
  console.log(`removed ${removed} engine tags of this run's input digests`);
}
