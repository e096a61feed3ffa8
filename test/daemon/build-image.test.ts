/**
 * buildImage's limits, driven through a stub engine (the Podman path's Engine interface): the
 * hard time limit and the build log on disk. Real engines are exercised in builder.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { planBuilds } from '../../protocol/build-plan.ts';
import { DEFAULT_RECIPE } from '../../protocol/recipe.ts';
import { resolveTree } from '../../protocol/tree/graph.ts';
import { inputDigests } from '../../protocol/tree/input-digest.ts';
import { openBuildLog, TRUNCATED_MARKER } from '../../daemon/builder/build-log.ts';
import { buildImage } from '../../daemon/builder/build-image.ts';
import type { Engine } from '../../daemon/builder/engine.ts';
import { BuilderError } from '../../daemon/builder/errors.ts';
import { outputPaths } from '../../daemon/builder/outputs.ts';
import { fakePackage } from '../helpers/tree.ts';
import { tempDir } from '../helpers/tmp.ts';

/** A one-package tree whose files are on disk, and its one build step. */
async function oneStep() {
  const root = tempDir('stagex-build-image');
  const pkg = fakePackage('core-slow');
  const dir = join(root, pkg.dir);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.toml'), pkg.toml);
  await writeFile(join(dir, 'Containerfile'), pkg.containerfile);
  const tree = resolveTree([{ ...pkg, dir }]);
  const step = planBuilds(tree, inputDigests(tree), ['linux/amd64'], () => true).steps[0]!;
  return { root, tree, step };
}

/** An engine whose build prints one line, then runs until its request is aborted. */
const hangingEngine = {
  hasImage: async () => true,
  build: async (request, onProgress) => {
    onProgress?.({ kind: 'log', step: 'RUN make', stream: 'stdout', line: 'compiling forever' });
    await new Promise((resolve) => request.signal!.addEventListener('abort', resolve, { once: true }));
    throw new BuilderError('BUILD_ABORTED', 'build aborted');
  },
} as Partial<Engine> as Engine;

describe('buildImage', () => {
  describe('when the build outlives timeoutMs', () => {
    it('aborts the engine request, fails with BUILD_TIMEOUT and keeps the log beside the outputs', async () => {
      const { root, tree, step } = await oneStep();
      const outputs = join(root, 'outputs');
      await assert.rejects(buildImage({
        tree, step, engine: hangingEngine, engineInfo: { name: 'podman', version: '5.0.0', apiVersion: '1.41', buildkit: false },
        recipe: DEFAULT_RECIPE, socketPath: '/nonexistent', cache: join(root, 'cache'), outputs,
        dependencyDigests: new Map(), noCache: true, timeoutMs: 300,
      }), (error: unknown) => error instanceof BuilderError && error.code === 'BUILD_TIMEOUT');
      const log = await readFile(outputPaths(outputs, step.inputDigest).log, 'utf8');
      assert.ok(log.includes('compiling forever'), log);
    });
  });
});

describe('openBuildLog', () => {
  it('writes every event as a line', async () => {
    const path = join(tempDir('stagex-log'), 'build.log');
    const log = openBuildLog(path);
    log.write({ kind: 'step', id: '#3', name: '[build 1/2] RUN make', cached: false, completed: false });
    log.write({ kind: 'log', step: '[build 1/2] RUN make', stream: 'stderr', line: 'cc -o hello hello.c' });
    await log.close();
    assert.deepEqual((await readFile(path, 'utf8')).split('\n'), ['#3 [build 1/2] RUN make', '[[build 1/2] RUN make] cc -o hello hello.c', '']);
  });

  it('stops at maxBytes with one visible TRUNCATED line', async () => {
    const path = join(tempDir('stagex-log'), 'build.log');
    const log = openBuildLog(path, 1000);
    for (let i = 0; i < 500; i++) log.write({ kind: 'log', step: '', stream: 'stdout', line: `line ${i}` });
    await log.close();
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    assert.ok(lines.at(-1)!.startsWith(TRUNCATED_MARKER), lines.at(-1));
    assert.equal(lines.filter((l) => l.startsWith(TRUNCATED_MARKER)).length, 1);
    assert.ok((await stat(path)).size < 1100);
  });
});
