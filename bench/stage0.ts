/**
 * The real StageX 2025.10.0 bootstrap-stage0 (../shared), as a reproducer builds it: one fresh
 * reproducer adds the six sources from ../shared/stagex-sources, builds it cold (`stagex-node
 * build bootstrap-stage0 --json` in its own process: Docker, the release's own recipe, no engine
 * cache), then runs the same command N more times with nothing changed. Prints the cold build's
 * time beside NOTES' anchor (~200 s on 2 cores) and the no-change runs' times beside the < 2 s
 * target; fails loudly unless the cold build gives StageX's published digest and every later run
 * reuses it. Benchmark only on a quiet machine (load average under 0.5 first).
 * Run: node bench/stage0.ts [runs]   (default 5)
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, cli } from '../scripts/local-network.ts';
import { reproducer } from '../test/helpers/demo-tree.ts';
import { STAGEX_TREE } from '../test/helpers/shared.ts';

const runs = Number(process.argv[2] ?? 5);
const PUBLISHED = '5cda98227cbff1e2904698fa52ebb1ec9758b9a908ec52ade7b079710d48e51b';
const PINS = join(import.meta.dirname, '..', 'bootstrap', 'stagex-2025.10.0.json');

/** Runs the CLI in its own process, as a user does; its wall time and parsed outcome. */
function timedBuild(config: string): Promise<{ ms: number; code: number | null; status: string; inputDigest: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, '-c', config, 'build', 'bootstrap-stage0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (err += c));
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = performance.now() - started;
      const row = out === '' ? undefined : (JSON.parse(out) as { images: { status: string; inputDigest: string }[] }).images[0];
      if (row === undefined) return reject(new Error(`build printed nothing (exit ${code}): ${err}`));
      resolve({ ms, code, status: row.status, inputDigest: row.inputDigest });
    });
  });
}

console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const member = await reproducer('bench', STAGEX_TREE);
const json = JSON.parse(await readFile(member.config, 'utf8'));
await writeFile(member.config, JSON.stringify({ ...json, builder: { ...json.builder, pins: PINS, assign: ['bootstrap-stage0'] } }));
const added = await cli('-c', member.config, 'sources', 'add', join(STAGEX_TREE, '..', 'stagex-sources'));
if (added.code !== 0) throw new Error(added.err);

// The reproducer trusts itself alone (threshold 1), so the quorum its pin asks for is its own vote.
const cold = await timedBuild(member.config);
const recordFile = join(member.config, '..', 'outputs', cold.inputDigest, 'build.json');
const recordText = await readFile(recordFile, 'utf8');
const record = JSON.parse(recordText);
if (cold.status !== 'built' || record.engine.stagexDigest !== PUBLISHED) throw new Error(`cold build (${(cold.ms / 1000).toFixed(1)} s): ${cold.status}, StageX digest ${record.engine.stagexDigest}, expected built at ${PUBLISHED}`);
console.log(`cold build of bootstrap-stage0 (hex0-seed to stage0-posix, Docker + the 2025.10.0 recipe, no cache): ${(cold.ms / 1000).toFixed(1)} s; anchor ~200 s (NOTES); StageX digest ${PUBLISHED.slice(0, 12)} = published`);
const times: number[] = [];
for (let i = 0; i < runs; i++) {
  const again = await timedBuild(member.config);
  if (again.status !== 'reused' || (await readFile(recordFile, 'utf8')) !== recordText) throw new Error(`no-change run ${i + 1}: ${again.status}, or its build record changed: it built again`);
  times.push(again.ms);
}
times.sort((a, b) => a - b);
console.log(`no-change rerun, whole process: median ${times[Math.floor(times.length / 2)]!.toFixed(0)} ms (${times[0]!.toFixed(0)}-${times.at(-1)!.toFixed(0)} ms, ${runs} runs); target < 2000 ms`);
console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
