/**
 * kill -9 in the middle of builds of the demo tree (issue "durability"): `stagex-node build`
 * (a separate process, the real engine) is SIGKILLed at seeded-random moments, four times:
 * 0-4 s after the first, second or third build of its run started; then run to the end. After
 * each kill no output is taken as done unless it is whole (a build record only beside a layout
 * holding the recorded digest, whose blobs hash right), and no `docker buildx` of the killed run
 * outlives it for long; the last run reuses what finished, rebuilds what was cut off, and every
 * image has the demo tree's digest (test/vectors/demo-tree-digests.json). Docker when it answers, else Podman
 * (at STAGEX_PODMAN_SOCKET, default /run/podman/podman.sock); skips, saying why, with neither.
 * BUILD_RESUME_SEED overrides the seed (printed).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connectEngine } from '../../daemon/builder/engine.ts';
import { readRecord } from '../../daemon/builder/outputs.ts';
import { loadConfig } from '../../daemon/config.ts';
import { CLI, cli, until } from '../../scripts/local-network.ts';
import type { Mirror } from '../../scripts/mirror.ts';
import { demoMirrorDir, demoTree, reproducer } from '../helpers/demo-tree.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

const SEED = Number(process.env.BUILD_RESUME_SEED ?? 7);
const PODMAN = process.env.STAGEX_PODMAN_SOCKET ?? '/run/podman/podman.sock';
const KILLS = 4;
const expected = (JSON.parse(await readFile(join(import.meta.dirname, '..', 'vectors', 'demo-tree-digests.json'), 'utf8')) as { digests: Record<string, string> }).digests;

/** The engine to build with: Docker when it answers, else Podman, else why neither. */
const engine = await connectEngine().check().then(
  () => ({ engine: 'docker', socket: '/var/run/docker.sock' }),
  (docker: Error) => connectEngine({ socketPath: PODMAN }).check().then(
    () => ({ engine: 'podman', socket: PODMAN }),
    (podman: Error) => ({ skip: `no engine: Docker (${docker.message.split('\n')[0]}; run scripts/engine.sh) nor Podman (${podman.message.split('\n')[0]}; run scripts/podman.sh)` }),
  ),
);
const mirrorDir = 'skip' in engine ? engine : await demoMirrorDir();
const skip = 'skip' in mirrorDir ? mirrorDir.skip : false;


const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * Every output directory with a build record holds the whole build: its layout's index names
 * the recorded digest, and that manifest and everything it names hash to their names.
 */
async function assertRecordsWhole(outputs: string, when: string): Promise<string[]> {
  const done: string[] = [];
  for (const inputDigest of await readdir(outputs).catch(() => [])) {
    const record = await readRecord(outputs, inputDigest);
    if (record === undefined) continue;
    const layout = join(outputs, inputDigest, 'oci');
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    assert.equal(index.manifests[0]!.digest, `sha256:${record.digest}`, `${when}: ${record.image}: the layout's index names another digest than its record`);
    const blob = async (digest: string) => {
      const bytes = await readFile(join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
      assert.equal(`sha256:${sha256(bytes)}`, digest, `${when}: ${record.image}: blob ${digest} is not whole`);
      return bytes;
    };
    const manifest = JSON.parse(Buffer.from(await blob(index.manifests[0]!.digest)).toString('utf8')) as { config: { digest: string }; layers: { digest: string }[] };
    for (const named of [manifest.config, ...manifest.layers]) await blob(named.digest);
    done.push(record.image);
  }
  return done;
}

/**
 * Runs `stagex-node build`; `started` resolves with the image of its `nth` build.started line,
 * or undefined when it exits first.
 */
function startBuild(config: string, nth: number) {
  const child = spawn(process.execPath, [CLI, '-c', config, 'build', '--json'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let seen = 0;
  const started = new Promise<string | undefined>((resolve) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const match = /^build\.started (\S+)/.exec(line);
      if (match && ++seen === nth) resolve(match[1]);
    });
    void exited.then(() => resolve(undefined));
  });
  return { child, exited, started };
}

/** Processes whose command line names `path` (a killed run's `docker buildx build`). */
async function processesNaming(path: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(path) && cmdline.includes('buildx')) found.push(`${pid}: ${cmdline.replaceAll('\0', ' ').slice(0, 120)}`);
  }
  return found;
}

describe('kill -9 during builds of the demo tree', { skip, timeout: 1_800_000 }, () => {
  let mirror: Mirror | undefined;
  let config: string;
  let outputs: string;

  before(async () => {
    const made = await demoTree((mirrorDir as { dir: string }).dir);
    mirror = made.mirror;
    ({ config } = await reproducer('rita', made.tree));
    const json = JSON.parse(await readFile(config, 'utf8'));
    const { engine: name, socket } = engine as { engine: string; socket: string };
    json.builder = { ...json.builder, engine: name, socket };
    await writeFile(config, JSON.stringify(json, null, 2));
    outputs = (await loadConfig(config)).builder.outputs;
  });

  after(async () => {
    await mirror?.close();
  });

  it('resumes after each kill, never takes a cut-off output as done, and ends with the demo digests', async () => {
    const next = seededRandom(SEED);
    const kills: string[] = [];
    const cutOff: string[] = [];
    for (let round = 0; round < KILLS; round += 1) {
      const build = startBuild(config, 1 + Math.floor(next() * 3));
      const image = await build.started;
      if (image === undefined) break;
      const delay = Math.round(next() * 4000);
      await new Promise((resolve) => setTimeout(resolve, delay));
      build.child.kill('SIGKILL');
      await build.exited;
      const done = await assertRecordsWhole(outputs, `after kill ${round} (${image} + ${delay} ms)`);
      kills.push(`${image}+${delay}ms (done: ${done.join(',') || 'none'})`);
      if (!done.includes(image)) cutOff.push(image);
      await until(`no docker buildx of the killed run is left (kill ${round})`, async () => (await processesNaming(outputs)).length === 0, 120_000);
    }
    console.log(`seed ${SEED}, ${engine && 'engine' in engine ? engine.engine : ''}: killed during ${kills.join('; ')}`);
    assert.ok(cutOff.length > 0, 'expected at least one kill to cut a build off');
    const final = await cli('-c', config, 'build', '--json');
    assert.equal(final.code, 0, final.err);
    const images = (JSON.parse(final.out) as { images: { image: string; status: string; digest: string }[] }).images;
    assert.deepEqual(Object.fromEntries(images.map((i) => [i.image, i.digest])), expected);
    assert.deepEqual((await assertRecordsWhole(outputs, 'at the end')).sort(), Object.keys(expected).sort());
  });
});
