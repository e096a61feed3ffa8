/**
 * The engine module against a real Docker engine (scripts/engine.sh) and the local base image
 * (scripts/base-image.sh). Skips, saying which, when either is missing.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import { extract } from 'tar-stream';
import type { BuildEvent } from '../../daemon/builder/build-progress.ts';
import { contextTar } from '../../daemon/builder/context-tar.ts';
import { connectEngine, MIN_DOCKER_MAJOR } from '../../daemon/builder/engine.ts';
import { BuilderError, BuildFailedError } from '../../daemon/builder/errors.ts';
import { tempDir } from '../helpers/tmp.ts';
import { rejection } from '../helpers/rejection.ts';

const SOCKET = '/var/run/docker.sock';
const BASE = 'stagex-local/busybox:latest';
const engine = connectEngine({ socketPath: SOCKET });
const docker = new Docker({ socketPath: SOCKET });

const noEngine = await engine.identify().then(
  () => false as const,
  (error: BuilderError) => `no Docker engine answers at ${SOCKET} (${error.code}); run scripts/engine.sh`,
);
const skip = noEngine !== false ? noEngine : (await engine.hasImage(BASE)) ? false : `no ${BASE} image; run scripts/base-image.sh`;
/**
 * `POST /build` with no session is the builder's path to Podman; on Docker's containerd image
 * store (which StageX's OCI export needs) it fails every build (moby/moby#47717), so Docker builds
 * go through buildx (recipe-build.ts, builder.test.ts), and these run only on a classic store.
 */
const containerdStore = noEngine === false && JSON.stringify(await engine.driverStatus()).includes('io.containerd.snapshotter.v1');
const apiBuilds = skip !== false ? skip : containerdStore ? 'Docker keeps images in its containerd store, where POST /build without a session fails (moby/moby#47717): Docker builds through buildx here, and the API build path is tested against Podman (podman.test.ts)' : false;

const repo = `stagex-test/engine-${process.pid}`;
after(async () => {
  if (noEngine !== false) return;
  const images = await docker.listImages({ filters: JSON.stringify({ reference: [`${repo}*`] }) });
  for (const image of images) await docker.getImage(image.Id).remove({ force: true }).catch(() => undefined);
});

async function build(name: string, containerfile: string, extra: Partial<Parameters<typeof engine.build>[0]> = {}) {
  const events: BuildEvent[] = [];
  const id = await engine.build({ contextTar: await contextTar(new Map([['Containerfile', containerfile]])), tag: `${repo}:${name}`, noCache: true, ...extra }, (e) => events.push(e));
  const logs = events.flatMap((e) => (e.kind === 'log' ? [e.line] : []));
  return { id, events, logs };
}

describe('connectEngine', () => {
  describe('check', () => {
    it('reports Docker >= 26 with BuildKit', { skip: noEngine }, async () => {
      const info = await engine.check();
      assert.equal(info.name, 'docker');
      assert.ok(Number.parseInt(info.version, 10) >= MIN_DOCKER_MAJOR, `version ${info.version}`);
      assert.match(info.apiVersion, /^1\.\d+$/);
      assert.equal(info.buildkit, true);
    });

    it('when nothing listens on the socket, throws ENGINE_UNREACHABLE', async () => {
      const missing = connectEngine({ socketPath: join(tempDir('stagex-engine'), 'docker.sock') });
      assert.equal((await rejection(missing.check())).code, 'ENGINE_UNREACHABLE');
    });

    it('when the socket accepts but never answers, throws ENGINE_UNREACHABLE after answerTimeoutMs', async () => {
      const path = join(tempDir('stagex-engine'), 'silent.sock');
      const server = createServer(() => undefined);
      await new Promise<void>((resolve) => server.listen(path, resolve));
      try {
        const started = Date.now();
        const silent = connectEngine({ socketPath: path, answerTimeoutMs: 200 });
        assert.equal((await rejection(silent.check())).code, 'ENGINE_UNREACHABLE');
        assert.ok(Date.now() - started < 5000);
      } finally {
        server.close();
        server.unref();
      }
    });
  });

  describe('build', { skip: apiBuilds }, () => {
    it('builds a heredoc COPY and an offline RUN from the local base image', { skip }, async () => {
      const { id, logs, events } = await build(
        'heredoc',
        [
          `FROM ${BASE} AS build`,
          'COPY <<-EOF /x',
          '\thello heredoc',
          '\tEOF',
          'RUN --network=none cat /x && ls /sys/class/net',
          'FROM scratch AS package',
          'COPY --from=build /x /x',
          '',
        ].join('\n'),
      );
      assert.match(id, /^sha256:[0-9a-f]{64}$/);
      assert.ok(logs.includes('hello heredoc'), `logs: ${JSON.stringify(logs)}`);
      // Network mode none: loopback is the only interface inside RUN.
      assert.deepEqual(logs.filter((l) => l !== 'hello heredoc'), ['lo']);
      assert.ok(events.some((e) => e.kind === 'step' && e.completed && e.name.startsWith('[build 3/3] RUN --network=none')));
      assert.equal(await engine.hasImage(`${repo}:heredoc`), true);
    });

    it('passes target, build args, labels and SOURCE_DATE_EPOCH=1', { skip }, async () => {
      const containerfile = [`FROM ${BASE} AS first`, 'ARG VERSION', 'RUN echo "version=$VERSION" > /v && cat /v', 'FROM scratch AS second', 'COPY --from=first /v /w', ''].join('\n');
      const { id, logs } = await build('args', containerfile, { target: 'first', buildArgs: { VERSION: '1.2.3' }, labels: { 'org.example.k': 'v' } });
      assert.ok(logs.includes('version=1.2.3'), `logs: ${JSON.stringify(logs)}`);
      const image = await docker.getImage(id).inspect();
      assert.equal(image.Config.Labels?.['org.example.k'], 'v');
      // The target stage is the busybox one: it has /bin/sh, which `second` would not.
      assert.equal(image.RootFS.Layers?.length, 2);
      assert.equal(image.Created, '1970-01-01T00:00:01Z');
    });

    it('when a RUN fails, throws BuildFailedError with the failing output', { skip }, async () => {
      const error = await rejection(build('fails', [`FROM ${BASE}`, 'RUN --network=none echo about-to-fail && echo no-such-thing-here >&2 && exit 3', ''].join('\n')));
      assert.ok(error instanceof BuildFailedError);
      assert.equal(error.code, 'BUILD_FAILED');
      // stdout and stderr are separate streams: BuildKit may deliver them in either order
      assert.deepEqual(error.log.slice(-2).sort(), ['about-to-fail', 'no-such-thing-here']);
      assert.equal(await engine.hasImage(`${repo}:fails`), false);
    });

    it('when the build file is not valid, throws BUILD_FAILED', { skip }, async () => {
      const error = await rejection(build('bad-file', 'FROMM nothing\n'));
      assert.equal(error.code, 'BUILD_FAILED');
    });

    it('when the signal aborts, stops the build with BUILD_ABORTED', { skip }, async () => {
      // Aborted once the step is running (its first log line), it must end long before its sleep
      // would: no timer, so a busy machine cannot abort it before the step has started.
      const controller = new AbortController();
      const started = Date.now();
      const containerfile = [`FROM ${BASE}`, 'RUN --network=none echo sleeping && sleep 600', ''].join('\n');
      const pending = engine.build({ contextTar: await contextTar(new Map([['Containerfile', containerfile]])), tag: `${repo}:aborted`, noCache: true, signal: controller.signal }, (e) => {
        if (e.kind === 'log' && e.line.includes('sleeping')) controller.abort(new Error('test abort'));
      });
      assert.equal((await rejection(pending)).code, 'BUILD_ABORTED');
      assert.ok(Date.now() - started < 300_000, `took ${Date.now() - started} ms: the step was not stopped`);
    });

    it('when the context starts with a PAX header, throws BAD_CONTEXT before calling the engine', async () => {
      const paxFirst = await contextTar(new Map([['Containerfile', 'FROM scratch\n'], ['é', 'x']]), 'Containerfile').then((tar) => {
        // Move the second entry (PAX header, its data, the file, its data) in front of the first.
        const first = tar.subarray(0, 1024);
        return Buffer.concat([tar.subarray(1024, tar.length - 1024), first, Buffer.alloc(1024)]);
      });
      const unreachable = connectEngine({ socketPath: join(tempDir('stagex-engine'), 'docker.sock') });
      const error = await rejection(unreachable.build({ contextTar: paxFirst, tag: `${repo}:pax` }));
      assert.equal(error.code, 'BAD_CONTEXT');
    });
  });

  describe('tag, hasImage and exportImage', () => {
    it('tags an image under a new name', { skip }, async () => {
      await engine.importImage(Readable.from([await contextTar(new Map([['hello', 'hi\n']]), 'hello')]), repo, 'to-tag');
      await engine.tag(`${repo}:to-tag`, repo, 'tagged');
      assert.equal(await engine.hasImage(`${repo}:tagged`), true);
      assert.equal(await engine.hasImage(`${repo}:never-built`), false);
    });

    it('tags two images under one name from 8 callers at once: every call succeeds, one of them holds it (reproducers sharing an engine)', { skip }, async () => {
      for (const name of ['one', 'two']) await engine.importImage(Readable.from([await contextTar(new Map([['hello', `${name}\n`]]), 'hello')]), repo, `at-once-${name}`);
      for (let round = 0; round < 5; round++) {
        await Promise.all(Array.from({ length: 8 }, (_, i) => engine.tag(`${repo}:at-once-${i % 2 ? 'one' : 'two'}`, repo, 'latest-at-once')));
      }
      assert.equal(await engine.hasImage(`${repo}:latest-at-once`), true);
    });

    it('when the image is missing, tag and exportImage throw IMAGE_NOT_FOUND', { skip: noEngine }, async () => {
      assert.equal((await rejection(engine.tag(`${repo}:missing`, repo, 'x'))).code, 'IMAGE_NOT_FOUND');
      assert.equal((await rejection(engine.exportImage(`${repo}:missing`))).code, 'IMAGE_NOT_FOUND');
    });

    it('exports a docker-archive tar holding manifest.json', { skip }, async () => {
      await engine.importImage(Readable.from([await contextTar(new Map([['hello', 'hi\n']]), 'hello')]), repo, 'export');
      const names = await entryNames(await engine.exportImage(`${repo}:export`));
      assert.ok(names.includes('manifest.json'), `entries: ${names.join(', ')}`);
      const manifest = JSON.parse(names.manifest!) as { RepoTags: string[]; Layers: string[] }[];
      assert.deepEqual(manifest[0]?.RepoTags, [`${repo}:export`]);
      assert.equal(manifest[0]?.Layers.length, 1);
    });
  });
});

/** Entry names of a tar stream, with manifest.json's text kept. */
async function entryNames(stream: Readable): Promise<string[] & { manifest?: string }> {
  const names: string[] & { manifest?: string } = [];
  const tar = extract();
  stream.pipe(tar);
  for await (const entry of tar) {
    names.push(entry.header.name);
    const chunks: Buffer[] = [];
    for await (const chunk of entry) if (entry.header.name === 'manifest.json') chunks.push(chunk as Buffer);
    if (entry.header.name === 'manifest.json') names.manifest = Buffer.concat(chunks).toString('utf8');
  }
  return names;
}
