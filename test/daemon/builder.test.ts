/**
 * The builder end to end (issue 5), as a user runs it: `stagex-node build` over the demo tree of
 * packages/ through the real Docker engine, sources from a loopback mirror, attestations into a
 * real store. Skips, saying why, without an engine or without the busybox seed from apt.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { connectEngine } from '../../daemon/builder/engine.ts';
import { outputPaths } from '../../daemon/builder/outputs.ts';
import { cli } from '../../scripts/local-network.ts';
import type { Mirror } from '../../scripts/mirror.ts';
import { demoMirrorDir, demoPins, demoTree, reproducer } from '../helpers/demo-tree.ts';
import { tempDir } from '../helpers/tmp.ts';

const SOCKET = '/var/run/docker.sock';
const IMAGES = ['bootstrap-stage0', 'core-filesystem', 'core-hello', 'user-greet', 'user-greet-doc'];
const engine = connectEngine({ socketPath: SOCKET });
const noEngine = await engine.check().then(() => false as const, (error: Error) => `no Docker engine >= 26 answers at ${SOCKET} (${error.message.split('\n')[0]}); run scripts/engine.sh`);
const mirrorDir = noEngine === false ? await demoMirrorDir() : { skip: noEngine };
const skip = 'skip' in mirrorDir ? mirrorDir.skip : false;
const PODMAN = '/run/podman/podman.sock';
const noPodman = await connectEngine({ socketPath: PODMAN }).check().then(() => false as const, () => `no Podman >= 5 answers at ${PODMAN}; run scripts/podman.sh`);

interface Outcome { image: string; status: string; digest?: string; reason?: string; code?: string }

async function build(config: string, ...images: string[]): Promise<{ code: number; outcomes: Record<string, Outcome>; err: string }> {
  const result = await cli('-c', config, 'build', '--json', ...images);
  if (result.out === '') return { code: result.code, outcomes: {}, err: result.err };
  const { images: rows } = JSON.parse(result.out) as { images: Outcome[] };
  return { code: result.code, outcomes: Object.fromEntries(rows.map((r) => [r.image, r])), err: result.err };
}

async function ownVotes(config: string, name: string): Promise<{ image: string; digest: string; inputDigest: string }[]> {
  const result = await cli('-c', config, 'query', '--key', name, '--json');
  assert.equal(result.code, 0, result.err);
  return (JSON.parse(result.out) as { votes: { image: string; digest: string; inputDigest: string }[] }).votes;
}

const statuses = (outcomes: Record<string, Outcome>) => IMAGES.map((i) => outcomes[i]?.status);
const mirrors: Mirror[] = [];
after(async () => {
  await Promise.all(mirrors.map((m) => m.close()));
});

async function tree(pins?: unknown, dir = (mirrorDir as { dir: string }).dir): Promise<string> {
  const made = await demoTree(dir, pins);
  mirrors.push(made.mirror);
  return made.tree;
}

describe('stagex-node build (demo tree, real engine)', { skip }, () => {
  let alice: { config: string; publicKey: string };
  let first: Awaited<ReturnType<typeof build>>;
  before(async () => {
    alice = await reproducer('alice', await tree());
    first = await build(alice.config);
  });

  it('builds every image in order, attests each, and stage0 matches its pin', async () => {
    assert.equal(first.code, 0, first.err);
    assert.deepEqual(statuses(first.outcomes), ['built', 'built', 'built', 'built', 'built']);
    const pins = await demoPins();
    assert.equal(first.outcomes['bootstrap-stage0']!.digest, pins.stages['bootstrap-stage0']!.digest);
    const votes = await ownVotes(alice.config, 'alice');
    assert.deepEqual(votes.map((v) => v.image).sort(), IMAGES);
    for (const vote of votes) assert.equal(vote.digest, first.outcomes[vote.image]!.digest);
  });

  it('builds the canonical digests recorded in test/vectors/demo-tree-digests.json', async () => {
    const recorded = JSON.parse(await readFile(new URL('../vectors/demo-tree-digests.json', import.meta.url), 'utf8')) as { digests: Record<string, string> };
    for (const image of IMAGES) {
      assert.equal(first.outcomes[image]!.digest, recorded.digests[image], `${image}: another canonical digest than the recorded one; nodes on this version would not agree with nodes on the version that recorded it, and the network would split by version`);
    }
  });

  it('streams progress to the terminal: steps and sources', () => {
    assert.match(first.err, /source\.fetched bootstrap-stage0 linux\/amd64 .*mirror=http:\/\/127\.0\.0\.1:\d+\/busybox-static/);
    assert.match(first.err, /core-hello > \[(linux\/amd64 )?build \d\/\d\] RUN --network=none/);
    assert.match(first.err, /build\.built user-greet-doc linux\/amd64/);
  });

  it('writes layouts that docker load and skopeo read', async () => {
    const context = JSON.parse(await readFile(alice.config, 'utf8'));
    const outputs = join(alice.config, '..', context.builder.outputs ?? 'outputs');
    const hello = first.outcomes['core-hello']!;
    const votes = await ownVotes(alice.config, 'alice');
    const layout = outputPaths(outputs, votes.find((v) => v.image === 'core-hello')!.inputDigest).layout;
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
    assert.equal(index.manifests[0].digest, `sha256:${hello.digest}`);
    const skopeo = await promisify(execFile)('skopeo', ['inspect', `oci:${layout}`]).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)));
    if (skopeo) assert.equal(JSON.parse(skopeo.stdout).Digest, `sha256:${hello.digest}`);
  });

  it('a second run builds nothing: every output is reused, nothing attested twice', async () => {
    const again = await build(alice.config);
    assert.equal(again.code, 0, again.err);
    assert.deepEqual(statuses(again.outcomes), ['reused', 'reused', 'reused', 'reused', 'reused']);
    for (const image of IMAGES) assert.equal(again.outcomes[image]!.digest, first.outcomes[image]!.digest);
    assert.equal((await ownVotes(alice.config, 'alice')).length, IMAGES.length);
  });

  it('an output whose image left the engine is loaded back from its layout, not rebuilt', async () => {
    const docker = new Docker({ socketPath: SOCKET });
    const tags = (await docker.listImages({ filters: JSON.stringify({ reference: ['stagex/core-hello'] }) })).flatMap((i) => i.RepoTags ?? []);
    for (const tag of tags) await docker.getImage(tag).remove({ noprune: false }).catch(() => undefined);
    const again = await build(alice.config);
    assert.deepEqual(statuses(again.outcomes), ['reused', 'reused', 'reused', 'reused', 'reused']);
    assert.match(again.err, /build\.loaded core-hello/);
    assert.equal(await engine.hasImage('stagex/core-hello:latest'), true);
  });

  it('verify --image decides the canonical digest of an image in the engine', async () => {
    const trusted = await cli('-c', alice.config, 'verify', '--image', 'stagex/user-greet:latest');
    assert.equal(trusted.code, 0, trusted.out + trusted.err);
    assert.match(trusted.out, /user-greet .* trusted/);
    const other = await cli('-c', alice.config, 'verify', '--image', 'stagex/user-greet-doc:latest', '--as', 'user-greet');
    assert.equal(other.code, 1);
    assert.match(other.out, /digest differs/);
  });

  it('another reproducer, building with no cache, gets the same digests', async () => {
    const bob = await reproducer('bob', await tree());
    const second = await build(bob.config);
    assert.equal(second.code, 0, second.err);
    assert.deepEqual(statuses(second.outcomes), ['built', 'built', 'built', 'built', 'built']);
    for (const image of IMAGES) assert.equal(second.outcomes[image]!.digest, first.outcomes[image]!.digest, image);
  });

  it('Podman, through its Docker-compatible API, builds the same digests as Docker', { skip: noPodman }, async () => {
    const pod = await reproducer('pod', await tree());
    const json = JSON.parse(await readFile(pod.config, 'utf8'));
    await writeFile(pod.config, JSON.stringify({ ...json, builder: { ...json.builder, engine: 'podman', socket: PODMAN } }));
    const result = await build(pod.config);
    assert.equal(result.code, 0, result.err);
    assert.deepEqual(statuses(result.outcomes), ['built', 'built', 'built', 'built', 'built']);
    for (const image of IMAGES) assert.equal(result.outcomes[image]!.digest, first.outcomes[image]!.digest, image);
  });

  it('a run stopped part way resumes where it stopped; an unfinished layout is built again', async () => {
    const carol = await reproducer('carol', await tree());
    const part = await build(carol.config, 'core-filesystem');
    assert.deepEqual(Object.keys(part.outcomes), ['bootstrap-stage0', 'core-filesystem']);
    const hello = (await ownVotes(alice.config, 'alice')).find((v) => v.image === 'core-hello')!;
    const outputs = join(carol.config, '..', 'outputs');
    await mkdir(outputPaths(outputs, hello.inputDigest).layout, { recursive: true });
    await writeFile(join(outputPaths(outputs, hello.inputDigest).layout, 'oci-layout'), 'half');
    const rest = await build(carol.config);
    assert.equal(rest.code, 0, rest.err);
    assert.deepEqual(statuses(rest.outcomes), ['reused', 'reused', 'built', 'built', 'built']);
    assert.equal(rest.outcomes['core-hello']!.digest, first.outcomes['core-hello']!.digest);
  });

  it('a package that copies its sources from the `fetch` build context (as StageX stage1-3 do) gets them there', async () => {
    const dir = await tree();
    const pkg = join(dir, 'packages', 'core', 'fetchy');
    await mkdir(pkg, { recursive: true });
    const hello = await readFile(join(dir, 'packages', 'core', 'hello', 'package.toml'), 'utf8');
    await writeFile(join(pkg, 'package.toml'), hello.replace('name = "hello"', 'name = "fetchy"'));
    await writeFile(join(pkg, 'Containerfile'), [
      'FROM stagex/bootstrap-stage0 AS build',
      'COPY --from=fetch . /src/',
      'RUN --network=none test -f /src/hello-1.0.0.tar && ls /src > /list',
      'FROM scratch AS package',
      'COPY --from=build /list /list',
      '',
    ].join('\n'));
    const ivy = await reproducer('ivy', dir);
    const result = await build(ivy.config, 'core-fetchy');
    assert.equal(result.code, 0, result.err);
    assert.equal(result.outcomes['core-fetchy']!.status, 'built');
  });

  it('a tampered source fails its build with both hashes; nothing that needs it is built or attested', async () => {
    const tampered = join(tempDir('stagex-tampered'), 'mirror');
    await cp((mirrorDir as { dir: string }).dir, tampered, { recursive: true });
    const tar = join(tampered, 'hello-1.0.0.tar');
    const bytes = await readFile(tar);
    bytes[600] = bytes[600]! ^ 1;
    await writeFile(tar, bytes);
    const dave = await reproducer('dave', await tree(undefined, tampered));
    const result = await build(dave.config);
    assert.equal(result.code, 3);
    assert.deepEqual(statuses(result.outcomes), ['built', 'built', 'failed', 'blocked', 'blocked']);
    const failed = result.outcomes['core-hello']!;
    assert.equal(failed.code, 'SOURCE_MISMATCH');
    assert.match(failed.reason!, /source hello \(hello-1\.0\.0\.tar\): .*http:\/\/127\.0\.0\.1:\d+\/hello-1\.0\.0\.tar: expected sha256 22c7c356\w{56}, got \w{64}/s);
    assert.deepEqual((await ownVotes(dave.config, 'dave')).map((v) => v.image).sort(), ['bootstrap-stage0', 'core-filesystem']);
    assert.equal(existsSync(join(dave.config, '..', 'cache', 'sha256', '22c7c356825114aa6ba79466290d8615ff7b61ac9c81efe48599eb2b6cde3d2b')), false);
  });

  it('a bootstrap output that misses its pin stops the chain: nothing attested', async () => {
    const pins = await demoPins();
    pins.stages['bootstrap-stage0']!.digest = 'e'.repeat(64);
    const erin = await reproducer('erin', await tree(pins));
    const result = await build(erin.config);
    assert.equal(result.code, 3);
    assert.deepEqual(statuses(result.outcomes), ['failed', 'blocked', 'blocked', 'blocked', 'blocked']);
    assert.equal(result.outcomes['bootstrap-stage0']!.code, 'BOOTSTRAP_GATE');
    assert.match(result.outcomes['bootstrap-stage0']!.reason!, new RegExp(`built ${first.outcomes['bootstrap-stage0']!.digest}, expected the pinned e{64}`));
    assert.deepEqual(await ownVotes(erin.config, 'erin'), []);
  });

  it('a seed that differs from its pin is refused before anything is built', async () => {
    const pins = await demoPins();
    pins.stages['bootstrap-stage0']!.seeds = { 'busybox-static-1.35.0-4+deb12u1+b1': '0'.repeat(64) };
    const frank = await reproducer('frank', await tree(pins));
    const result = await build(frank.config);
    assert.equal(result.outcomes['bootstrap-stage0']!.code, 'BOOTSTRAP_GATE');
    assert.match(result.outcomes['bootstrap-stage0']!.reason!, /seed busybox-static-1\.35\.0-4\+deb12u1\+b1 has sha256 3d9f2889\w+, expected the pinned 0{64}/);
    assert.doesNotMatch(result.err, /build\.started/);
  });

  it('a quorum pin holds everything above the stage until M trusted keys agree on its digest', async () => {
    const pins = await demoPins();
    pins.stages['bootstrap-stage0']!.digest = 'quorum';
    const shared = await tree(pins);
    const gina = await reproducer('gina', shared);
    const hank = await reproducer('hank', shared);
    const trust = { threshold: 2, keys: [{ name: 'gina', publicKey: gina.publicKey }, { name: 'hank', publicKey: hank.publicKey }], revoked: [] };
    for (const who of [gina, hank]) {
      const json = JSON.parse(await readFile(who.config, 'utf8'));
      await writeFile(who.config, JSON.stringify({ ...json, trust }));
    }
    const waiting = await build(gina.config);
    assert.equal(waiting.code, 1);
    assert.deepEqual(statuses(waiting.outcomes), ['waiting', 'waiting', 'waiting', 'waiting', 'waiting']);
    assert.match(waiting.outcomes['bootstrap-stage0']!.reason!, /waiting for quorum on \w{64} \(1 of 2 trusted keys\)/);

    assert.equal((await build(hank.config, 'bootstrap-stage0')).outcomes['bootstrap-stage0']!.status, 'waiting');
    const exported = tempDir('stagex-export');
    assert.equal((await cli('-c', hank.config, 'export', exported)).code, 0);
    assert.equal((await cli('-c', gina.config, 'import', join(exported, 'envelopes'))).code, 0);
    const goes = await build(gina.config);
    assert.equal(goes.code, 0, goes.err);
    assert.deepEqual(statuses(goes.outcomes), ['reused', 'built', 'built', 'built', 'built']);
  });

  after(async () => {
    await rm(join(alice.config, '..'), { recursive: true, force: true }).catch(() => undefined);
  });
});
