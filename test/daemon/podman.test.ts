/**
 * The engine module against Podman 5's Docker-compatible API (scripts/podman.sh) beside Docker
 * (scripts/engine.sh): the same StageX-style chain, built with no cache on both, gives the same
 * canonical digest (DESIGN section 3). Podman gets the base image from Docker's export, never from
 * a registry. Skips, saying which, when Podman, Docker or the base image is missing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import type { BuildEvent } from '../../daemon/builder/build-progress.ts';
import { canonicalize } from '../../canonical/index.ts';
import { contextTar } from '../../daemon/builder/context-tar.ts';
import { connectEngine, type Engine, MIN_PODMAN_MAJOR } from '../../daemon/builder/engine.ts';
import { readPodmanResponse } from '../../daemon/builder/podman-progress.ts';
import { BuilderError, BuildFailedError } from '../../daemon/builder/errors.ts';
import { tempDir } from '../helpers/tmp.ts';
import { rejection } from '../helpers/rejection.ts';
import { until } from '../../scripts/local-network.ts';
import { execFileSync } from 'node:child_process';

const PODMAN_SOCKET = '/run/podman/podman.sock';
const DOCKER_SOCKET = '/var/run/docker.sock';
const BASE = 'stagex-local/busybox:latest';
const podman = connectEngine({ socketPath: PODMAN_SOCKET });
const docker = connectEngine({ socketPath: DOCKER_SOCKET });

const noPodman = await podman.identify().then(
  (info) => (info.name === 'podman' ? (false as const) : `${info.name} answers at ${PODMAN_SOCKET}, not Podman`),
  (error: BuilderError) => `no Podman answers at ${PODMAN_SOCKET} (${error.code}); run scripts/podman.sh`,
);
const noDocker = await docker.identify().then(
  async () => ((await docker.hasImage(BASE)) ? (false as const) : `no ${BASE} in Docker; run scripts/base-image.sh`),
  (error: BuilderError) => `no Docker engine answers at ${DOCKER_SOCKET} (${error.code}); run scripts/engine.sh`,
);
const skip = noPodman !== false ? noPodman : noDocker;
/** Docker builds through the Engine API only on its classic store (engine.test.ts says why); on the containerd store builder.test.ts compares Podman with Docker's buildx builds. */
const dockerApiBuilds = skip !== false ? skip : JSON.stringify(await docker.driverStatus()).includes('io.containerd.snapshotter.v1') ? 'Docker keeps images in its containerd store, where POST /build without a session fails (moby/moby#47717): builder.test.ts compares Podman with Docker\'s buildx builds of the demo tree' : false;

const name = `pm${process.pid}`;
/** Image ids on Podman before the tests: its builds leave untagged stage images, removed after. */
let podmanBefore = new Set<string>();
const podmanApi = new Docker({ socketPath: PODMAN_SOCKET });
const dockerApi = new Docker({ socketPath: DOCKER_SOCKET });

before(async () => {
  if (skip !== false) return;
  podmanBefore = new Set((await podmanApi.listImages({ all: true })).map((i) => i.Id));
  // Every build here checks its base first: an image missing on Podman would be pulled.
  if (!(await podman.hasImage(BASE))) {
    const load = (await podmanApi.loadImage(await docker.exportImage(BASE))) as unknown as Readable;
    const body = (await load.toArray()).join('');
    assert.ok(!body.includes('"error"'), `loading ${BASE} into Podman: ${body}`);
  }
  assert.equal(await podman.hasImage(BASE), true, `${BASE} is not in Podman after loading it`);
});

after(async () => {
  if (skip !== false) return;
  for (const api of [dockerApi, podmanApi]) {
    const images = await api.listImages({ all: true });
    for (const image of images.reverse()) {
      const ours = (image.RepoTags ?? []).some((t) => t.includes(name));
      const stage = api === podmanApi && !podmanBefore.has(image.Id) && (image.RepoTags ?? []).length === 0;
      if (ours || stage) await api.getImage(image.Id).remove({ force: true }).catch(() => undefined);
    }
  }
});

/** Ids of the containers Podman's builds hold (`podman ps --external`: not libpod containers). */
function buildContainers(): Set<string> {
  const out = execFileSync('podman', ['ps', '--all', '--external', '--no-trunc', '--format', '{{.ID}}'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return new Set(out.split('\n').filter(Boolean));
}

/** The first image: a build stage that RUNs and writes /rootfs, copied into an empty package stage. */
function first(content: string): string {
  return [
    `FROM ${BASE} AS build`,
    'COPY <<-EOF /src/hello',
    '\t#!/bin/sh',
    `\techo ${content}`,
    '\tEOF',
    'RUN --network=none set -eu; mkdir -p /rootfs/usr/bin /rootfs/etc; cp /src/hello /rootfs/usr/bin/hello; chmod 0755 /rootfs/usr/bin/hello; \\',
    `    echo ${content} > /rootfs/etc/first-release; ln -s ../usr/bin/hello /rootfs/etc/hello-link`,
    'FROM scratch AS package',
    'COPY --from=build /rootfs/ /',
    '',
  ].join('\n');
}

/** The second image depends on the first through both `FROM stagex/<first>` and `COPY --from=stagex/<first>`. */
function second(dependency: string): string {
  return [
    `FROM ${BASE} AS build`,
    `COPY --from=stagex/${dependency} /etc/first-release /src/first-release`,
    'RUN --network=none set -eu; mkdir -p /rootfs/etc; { cat /src/first-release; echo second; } > /rootfs/etc/second-release',
    `FROM stagex/${dependency} AS package`,
    'COPY --from=build /rootfs/ /',
    '',
  ].join('\n');
}

async function build(engine: Engine, tag: string, containerfile: string, extra: Partial<Parameters<Engine['build']>[0]> = {}) {
  const events: BuildEvent[] = [];
  const id = await engine.build({ contextTar: await contextTar(new Map([['Containerfile', containerfile]])), tag, noCache: true, ...extra }, (e) => events.push(e));
  return { id, events, logs: events.flatMap((e) => (e.kind === 'log' ? [e.line] : [])) };
}

/** Builds the chain on `engine` (the first tagged `stagex/<first>:latest`) and returns both canonical digests. */
async function chain(engine: Engine, label: string, content: string): Promise<{ first: string; second: string; logs: string[] }> {
  const dependency = `${name}-${label}-first`;
  const built = await build(engine, `stagex-test/${dependency}:built`, first(content));
  await engine.tag(built.id, `stagex/${dependency}`, 'latest');
  assert.equal(await engine.hasImage(`stagex/${dependency}:latest`), true, 'the dependency is tagged (else the next build would pull it)');
  const top = await build(engine, `stagex-test/${name}-${label}-second:built`, second(dependency));
  return { first: await canonicalDigest(engine, built.id), second: await canonicalDigest(engine, `stagex-test/${name}-${label}-second:built`), logs: [...built.logs, ...top.logs] };
}

async function canonicalDigest(engine: Engine, image: string): Promise<string> {
  return (await canonicalize(await engine.exportImage(image), join(tempDir('stagex-podman'), 'out'))).digest;
}

/** Records of Podman 5.4.2's compat `POST /build` as captured: a cached COPY, a RUN whose output line comes in two records. */
const CAPTURED = [
  { stream: '[1/2] STEP 1/3: FROM stagex-local/busybox:latest AS build\n' },
  { stream: '[1/2] STEP 2/3: COPY <<-EOF /x (hello heredoc)\n' },
  { stream: '--> Using cache 58f8090a83b232d0f11e493d9a4d1ef0cc449f431a0a7378eca2db93006673c0\n' },
  { stream: '--> 58f8090a83b2\n' },
  { stream: '[1/2] STEP 3/3: RUN --network=none cat /x\n' },
  { stream: 'hello here' },
  { stream: 'doc\n' },
  { stream: '--> fc52f3c83a0b\n' },
  { stream: '[2/2] STEP 1/2: FROM scratch AS package\n' },
  { stream: '[2/2] STEP 2/2: COPY --from=build /x /x\n' },
  { stream: '[2/2] COMMIT docker.io/stagex-test/capture:x\n' },
  { stream: '--> 174200ad366f\n' },
  { stream: '[Warning] one or more build args were not consumed: [SOURCE_DATE_EPOCH]\n' },
  { stream: 'Successfully tagged docker.io/stagex-test/capture:x\n' },
  { stream: '174200ad366f10729109e47928327f6d5b1176c9b19cab396f7ece8ab8bb1687\n' },
  { aux: { ID: 'sha256:174200ad366f10729109e47928327f6d5b1176c9b19cab396f7ece8ab8bb1687' } },
  { stream: 'Successfully built 174200ad366f\n' },
];
const FAILED = [
  { stream: 'STEP 1/2: FROM stagex-local/busybox:latest\n' },
  { stream: 'STEP 2/2: RUN --network=none echo about-to-fail && exit 3\n' },
  { stream: 'about-to-fail\n' },
  { errorDetail: { message: 'building at STEP "RUN --network=none echo about-to-fail && exit 3": while running runtime: exit status 3\n' }, error: 'building at STEP ...' },
];

/** Records as the socket gives them: JSON lines, here cut into 7-byte chunks. */
async function* chunked(records: readonly object[]): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  for (let i = 0; i < bytes.length; i += 7) yield bytes.subarray(i, i + 7);
}

describe('readPodmanResponse', () => {
  it('gives the image id, steps (cached, completed), output lines and warnings', async () => {
    const events: BuildEvent[] = [];
    assert.equal(await readPodmanResponse(chunked(CAPTURED), 'capture', (e) => events.push(e)), 'sha256:174200ad366f10729109e47928327f6d5b1176c9b19cab396f7ece8ab8bb1687');
    const logs = events.flatMap((e) => (e.kind === 'log' ? [[e.step, e.line]] : []));
    assert.deepEqual(logs, [['[1/2] STEP 3/3: RUN --network=none cat /x', 'hello heredoc']]);
    const done = events.flatMap((e) => (e.kind === 'step' && e.completed ? [`${e.id}${e.cached ? ' cached' : ''}`] : []));
    assert.deepEqual(done, ['1/2 1/3', '1/2 2/3 cached', '1/2 3/3', '2/2 1/2', '2/2 2/2']);
    assert.deepEqual(events.filter((e) => e.kind === 'warning').map((e) => e.kind === 'warning' && e.message), ['one or more build args were not consumed: [SOURCE_DATE_EPOCH]']);
  });

  it('when the build fails, throws BuildFailedError with the output before it', async () => {
    const error = await rejection(readPodmanResponse(chunked(FAILED), 'failing'));
    assert.ok(error instanceof BuildFailedError);
    assert.deepEqual(error.log, ['about-to-fail']);
  });

  it('when the response ends without an image id, throws ENGINE_ERROR', async () => {
    assert.equal((await rejection(readPodmanResponse(chunked(CAPTURED.slice(0, 13)), 'cut'))).code, 'ENGINE_ERROR');
  });
});

describe('connectEngine with Podman', () => {
  describe('check', () => {
    it('accepts Podman >= 5, which builds without BuildKit', { skip: noPodman }, async () => {
      const info = await podman.check();
      assert.equal(info.name, 'podman');
      assert.ok(Number.parseInt(info.version, 10) >= MIN_PODMAN_MAJOR, `version ${info.version}`);
      assert.match(info.apiVersion, /^1\.\d+$/);
      assert.equal(info.buildkit, false);
    });
  });

  describe('build', () => {
    it('builds a heredoc COPY and an offline RUN (loopback only), reporting steps and output', { skip }, async () => {
      const { id, logs, events } = await build(podman, `stagex-test/${name}:heredoc`, [`FROM ${BASE}`, 'COPY <<-EOF /x', '\thello heredoc', '\tEOF', 'RUN --network=none cat /x && ls /sys/class/net', ''].join('\n'));
      assert.match(id, /^sha256:[0-9a-f]{64}$/);
      assert.deepEqual(logs, ['hello heredoc', 'lo']);
      assert.ok(events.some((e) => e.kind === 'step' && e.completed && e.name.endsWith('RUN --network=none cat /x && ls /sys/class/net')));
    });

    it('when a RUN fails, throws BuildFailedError with the failing output', { skip }, async () => {
      const error = await rejection(build(podman, `stagex-test/${name}:fails`, [`FROM ${BASE}`, 'RUN --network=none echo about-to-fail && echo no-such-thing-here >&2 && exit 3', ''].join('\n')));
      assert.ok(error instanceof BuildFailedError);
      assert.ok(error.log.includes('about-to-fail') && error.log.includes('no-such-thing-here'), `log: ${JSON.stringify(error.log)}`);
      assert.equal(await podman.hasImage(`stagex-test/${name}:fails`), false);
    });

    it('when the signal aborts, returns BUILD_ABORTED and the image is never tagged', { skip }, async () => {
      const tag = `stagex-test/${name}:aborted`;
      const controller = new AbortController();
      const before = buildContainers();
      let ours = new Set<string>();
      // Aborted once the RUN step has started (a fixed delay may fall before it, or after it ends).
      const onEvent = (e: BuildEvent) => {
        if (e.kind !== 'step' || e.completed || !e.name.includes('RUN') || controller.signal.aborted) return;
        ours = new Set([...buildContainers()].filter((id) => !before.has(id)));
        controller.abort(new Error('test abort'));
      };
      const pending = podman.build({ contextTar: await contextTar(new Map([['Containerfile', [`FROM ${BASE}`, 'RUN --network=none sleep 3', ''].join('\n')]])), tag, noCache: true, signal: controller.signal }, onEvent);
      assert.equal((await rejection(pending)).code, 'BUILD_ABORTED');
      assert.ok(controller.signal.aborted, 'the RUN step started before the build ended');
      // Podman lets the running step finish (it does not stop a build whose client left), then
      // drops it: the tag is checked once the build's working container is gone.
      await until('Podman removed the aborted build\'s working container', () => ![...ours].some((id) => buildContainers().has(id)), 120_000);
      assert.equal(await podman.hasImage(tag), false);
    });
  });

  describe('canonical digest', () => {
    it('Docker (BuildKit) and Podman give the same digests for a two-image chain, the dependency resolved locally', { skip: dockerApiBuilds }, async () => {
      const onPodman = await chain(podman, 'same', 'one');
      const onDocker = await chain(docker, 'same', 'one');
      assert.equal(onPodman.first, onDocker.first);
      assert.equal(onPodman.second, onDocker.second);
      assert.ok(!onPodman.logs.some((l) => /pull/i.test(l)), `Podman logs: ${JSON.stringify(onPodman.logs)}`);
    });

    it('a content change in the first image changes both digests', { skip }, async () => {
      const one = await chain(podman, 'one', 'one');
      const two = await chain(podman, 'two', 'two');
      assert.notEqual(one.first, two.first);
      assert.notEqual(one.second, two.second);
    });
  });
});
