/**
 * `plan` and `verify` of the real StageX tree as a user runs them: whole fresh processes of the
 * command as `npm pack` publishes it (pre-stripped JavaScript, daemon/bin/prestrip.js), against
 * `node -e ''` (Node's own start). Cold: Node's compile cache emptied (a new NODE_COMPILE_CACHE
 * directory per run: where `module.enableCompileCache()` puts it); warm: the cache filled by a
 * run before. Also the development tree's launcher (no pre-stripped files), the warm
 * in-process plan (loadTree + build order + input digests) against
 * `find <tree>/packages -type f -print0 | xargs -0 cat | sha256sum`, and cold `verify` of the
 * release manifest (digests/) against an empty store. Runs alternate, so load changes touch every
 * row alike; each row: median (min - max) wall, median CPU (user+sys of the process tree).
 * Run: node bench/plan.ts [tree dir] [runs] [--force]   (default ../shared/stagex-2025.10.0, 5)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTree } from '../daemon/tree.ts';
import { inputDigests } from '../protocol/tree/input-digest.ts';
import { buildOrder } from '../protocol/tree/order.ts';
import { quietMachine } from './quiet.ts';

const args = process.argv.slice(2).filter((a) => a !== '--force');
const dir = args[0] ?? fileURLToPath(new URL('../../shared/stagex-2025.10.0', import.meta.url));
const runs = Number(args[1] ?? 5);
const root = fileURLToPath(new URL('../', import.meta.url));
const { mark } = quietMachine();

const work = mkdtempSync(join(tmpdir(), 'stagex-bench-plan-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

/** The package as `npm install -g` lays it out (lib/node_modules/stagex-node), its dependencies those of this tree. */
function packed(): string {
  const pack = JSON.parse(execFileSync('npm', ['pack', '--pack-destination', work, '--json', '--silent'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as [{ filename: string }];
  const lib = join(work, 'lib', 'node_modules');
  mkdirSync(lib, { recursive: true });
  execFileSync('tar', ['-xzf', join(work, pack[0].filename), '-C', lib]);
  renameSync(join(lib, 'package'), join(lib, 'stagex-node'));
  symlinkSync(join(root, 'node_modules'), join(lib, 'stagex-node', 'node_modules'));
  return join(lib, 'stagex-node', 'daemon', 'bin', 'stagex-node');
}

interface Sample { wallMs: number; cpuMs: number }

/** One fresh process of `command` (output discarded), its wall time and the CPU of it and its children. */
function timed(command: string[], env: NodeJS.ProcessEnv = {}): Sample {
  // the shell's cutime + cstime (fields 16, 17 of /proc/self/stat, clock ticks) cover the command it waited for
  const script = '"$@" >/dev/null 2>&1; s=$?; read -r line </proc/$$/stat; echo "$s ${line##*) }"';
  const start = performance.now();
  const result = spawnSync('sh', ['-c', script, 'sh', ...command], { env: { ...process.env, ...env }, encoding: 'utf8' });
  const wallMs = performance.now() - start;
  const [status, ...fields] = result.stdout.trim().split(' ');
  if (status !== '0' && status !== '1') throw new Error(`${command.join(' ')}: exit ${status}`);
  // after "pid (comm) ", fields[0] is field 3 (state): cutime is field 16, cstime field 17
  const ticks = Number(fields[13]) + Number(fields[14]);
  return { wallMs, cpuMs: ticks * 10 };
}

function freshCache(): string {
  return mkdtempSync(join(work, 'compile-cache-'));
}

async function inProcessPlan(): Promise<void> {
  const tree = await loadTree(dir);
  if (tree.errors.length > 0) throw new Error(`${dir}: ${tree.errors.length} errors, first: ${tree.errors[0]!.message}`);
  buildOrder(tree);
  inputDigests(tree);
}

const bin = packed();
const devBin = join(root, 'daemon', 'bin', 'stagex-node');
const node = join(root, 'node_modules', 'node', 'bin', 'node');
execFileSync(bin, ['init', join(work, 'verifier'), '--name', 'bench', '--json'], { stdio: 'ignore' });
const config = join(work, 'verifier', 'config.json');
const warmCache = freshCache();
const plan = (b: string) => [b, 'plan', '--tree', dir];
const verify = [bin, '-c', config, 'verify', join(dir, 'digests')];
timed(plan(bin), { NODE_COMPILE_CACHE: warmCache });
timed(verify, { NODE_COMPILE_CACHE: warmCache });

const rows: { name: string; target: string; run: () => Sample | Promise<Sample>; samples: Sample[] }[] = [
  { name: "node -e '' (anchor: Node's start)", target: '-', run: () => timed([node, '-e', '']), samples: [] },
  { name: 'stagex-node plan, cold (published form)', target: '< 500 ms', run: () => timed(plan(bin), { NODE_COMPILE_CACHE: freshCache() }), samples: [] },
  { name: 'stagex-node plan, compile cache warm', target: '-', run: () => timed(plan(bin), { NODE_COMPILE_CACHE: warmCache }), samples: [] },
  { name: 'stagex-node plan, cold, development tree', target: '-', run: () => timed(plan(devBin), { NODE_COMPILE_CACHE: freshCache() }), samples: [] },
  { name: 'stagex-node verify digests/, cold, empty store', target: '< 500 ms', run: () => timed(verify, { NODE_COMPILE_CACHE: freshCache() }), samples: [] },
  { name: 'stagex-node verify digests/, compile cache warm', target: '-', run: () => timed(verify, { NODE_COMPILE_CACHE: warmCache }), samples: [] },
  {
    name: 'plan in-process, warm (loadTree + order + digests)', target: '< 1000 ms (was 147 ms)',
    run: async () => {
      const cpu = process.cpuUsage();
      const start = performance.now();
      await inProcessPlan();
      const used = process.cpuUsage(cpu);
      return { wallMs: performance.now() - start, cpuMs: (used.user + used.system) / 1000 };
    },
    samples: [],
  },
  { name: 'find | xargs cat | sha256sum (the plan\'s baseline)', target: '-', run: () => timed(['sh', '-c', 'find "$1/packages" -type f -print0 | xargs -0 cat | sha256sum', 'sh', dir]), samples: [] },
];

await inProcessPlan();
for (let i = 0; i < runs; i++) for (const row of rows) row.samples.push(await row.run());

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const anchor = median(rows[0]!.samples.map((s) => s.wallMs));
const files = readdirSync(join(dir, 'packages'), { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).length;
console.log(`tree ${dir}: ${files} files under packages/; ${runs} runs per row, alternated${mark}`);
console.log('| measure | wall median (min - max) | CPU median | target | x node -e \'\' |');
console.log('| --- | --- | --- | --- | --- |');
for (const row of rows) {
  const wall = row.samples.map((s) => s.wallMs);
  console.log(`| ${row.name} | ${median(wall).toFixed(0)} ms (${Math.min(...wall).toFixed(0)} - ${Math.max(...wall).toFixed(0)}) | ${median(row.samples.map((s) => s.cpuMs)).toFixed(0)} ms | ${row.target} | ${(median(wall) / anchor).toFixed(1)} |`);
}
const inProcess = median(rows[6]!.samples.map((s) => s.wallMs));
const baseline = median(rows[7]!.samples.map((s) => s.wallMs));
console.log(`ratio in-process plan / baseline: ${(inProcess / baseline).toFixed(2)}`);
