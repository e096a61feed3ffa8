/**
 * What `stagex-node build` refuses before it builds anything: bad arguments, bad pins, an
 * assignment that could never reach the threshold, the wrong engine, unreadable build records.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectEngine } from '../../daemon/builder/engine.ts';
import { outputPaths, readRecord } from '../../daemon/builder/outputs.ts';
import { BuilderError } from '../../daemon/builder/errors.ts';
import { cli } from '../../scripts/local-network.ts';
import { reproducer } from '../helpers/demo-tree.ts';
import { tempDir } from '../helpers/tmp.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const noEngine = await connectEngine().check().then(() => false as const, () => 'no Docker engine answers at /var/run/docker.sock; run scripts/engine.sh');

async function withBuilder(builder: Record<string, unknown>): Promise<string> {
  const { config } = await reproducer('ivy', ROOT);
  const json = JSON.parse(await readFile(config, 'utf8'));
  await writeFile(config, JSON.stringify({ ...json, builder: { ...json.builder, ...builder } }));
  return config;
}

describe('stagex-node build refuses before building', () => {
  it('an image the tree lacks: usage error naming it', async () => {
    const result = await cli('-c', await withBuilder({}), 'build', 'core-nosuch');
    assert.equal(result.code, 64);
    assert.match(result.err, /image "core-nosuch": expected an image of the tree/);
  });

  it('a pins file that does not parse: every problem with its path', async () => {
    const pins = join(tempDir('stagex-pins'), 'pins.json');
    await writeFile(pins, JSON.stringify({ stages: { 'bootstrap-stage0': { digest: 'sha256:1' } } }));
    const result = await cli('-c', await withBuilder({ pins }), 'build');
    assert.equal(result.code, 3);
    assert.match(result.err, /bootstrap pins .*pins\.json: 1 problem\(s\):\n +stages\.bootstrap-stage0\.digest: .*got "sha256:1"/);
  });

  it('a pins file named but missing', async () => {
    const result = await cli('-c', await withBuilder({ pins: '/nonexistent/pins.json' }), 'build');
    assert.equal(result.code, 3);
    assert.match(result.err, /bootstrap pins \/nonexistent\/pins\.json: cannot read \(ENOENT\)/);
  });

  it('auto assignment with fewer replicas than the threshold', async () => {
    const config = await withBuilder({ assign: 'auto', replicas: 1 });
    const json = JSON.parse(await readFile(config, 'utf8'));
    json.trust.keys.push({ name: 'other', publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a' });
    json.trust.threshold = 2;
    await writeFile(config, JSON.stringify(json));
    const result = await cli('-c', config, 'build');
    assert.equal(result.code, 3);
    assert.match(result.err, /builder\.replicas 1 is below trust\.threshold 2/);
  });

  it('a config that expects podman where docker answers', { skip: noEngine }, async () => {
    const result = await cli('-c', await withBuilder({ engine: 'podman' }), 'build');
    assert.equal(result.code, 3);
    assert.match(result.err, /builder\.engine is podman, but docker \S+ answers at \/var\/run\/docker\.sock/);
  });

  it('nothing assigned: says so, and how to build anyway', async () => {
    const result = await cli('-c', await withBuilder({ assign: [] }), 'build');
    assert.equal(result.code, 0);
    assert.match(result.err, /nothing is assigned to this reproducer \(builder\.assign \[\]\); name images to build them/);
  });

  it('a platform that is not os/arch', async () => {
    const result = await cli('-c', await withBuilder({ platforms: ['amd64'] }), 'build');
    assert.equal(result.code, 3);
    assert.match(result.err, /builder\.platforms\.0: expected os\/arch/);
  });
});

describe('stagex-node plan with a config', () => {
  it('says per image and platform whether it is built here, and how many trusted keys attested it', async () => {
    const config = await withBuilder({ assign: ['user-greet'] });
    const result = await cli('-c', config, 'plan', '--json');
    assert.equal(result.code, 0, result.err);
    const { images } = JSON.parse(result.out) as { images: { name: string; here: Record<string, unknown>; attested: Record<string, unknown> }[] };
    assert.deepEqual(Object.fromEntries(images.map((i) => [i.name, i.here['linux/amd64']])), {
      'bootstrap-stage0': 'needed', 'core-filesystem': 'needed', 'core-hello': 'needed', 'user-greet': 'assigned', 'user-greet-doc': 'no',
    });
    for (const image of images) assert.deepEqual(image.attested['linux/amd64'], { status: 'unknown', count: 0, threshold: 1 });
  });

  it('shows the verdict of exactly the planned build: an attestation of another input digest counts nowhere', async () => {
    const config = await withBuilder({ assign: ['user-greet'] });
    const planned = async () => JSON.parse((await cli('-c', config, 'plan', '--json')).out) as { images: { name: string; inputDigests: Record<string, string>; attested: Record<string, { status: string }> }[] };
    const hello = (await planned()).images.find((i) => i.name === 'core-hello')!;
    const attest = (inputDigest: string) => cli('-c', config, 'attest', '--image', 'core-hello', '--input-digest', inputDigest, '--digest', 'ab'.repeat(32));
    assert.equal((await attest('cd'.repeat(32))).code, 0);
    assert.equal((await attest(hello.inputDigests['linux/amd64']!)).code, 0);
    const statuses = Object.fromEntries((await planned()).images.map((i) => [i.name, i.attested['linux/amd64']!.status]));
    assert.deepEqual(statuses, { 'bootstrap-stage0': 'unknown', 'core-filesystem': 'unknown', 'core-hello': 'trusted', 'user-greet': 'unknown', 'user-greet-doc': 'unknown' });
  });
});

describe('stagex-node plan with a bad config', () => {
  it('reports the config error instead of planning without it', async () => {
    const config = await withBuilder({ assign: 7 });
    const result = await cli('-c', config, 'plan', '--tree', ROOT);
    assert.equal(result.code, 3);
    assert.match(result.err, /builder\.assign: .*got 7/);
    assert.equal(result.out, '');
  });
});

describe('readRecord', () => {
  const digest = 'a'.repeat(64);
  it('is undefined when no build finished, and BAD_OUTPUT for a record that does not parse or names another input', async () => {
    const outputs = tempDir('stagex-outputs');
    assert.equal(await readRecord(outputs, digest), undefined);
    await mkdir(outputPaths(outputs, digest).dir, { recursive: true });
    await writeFile(outputPaths(outputs, digest).record, '{"image":');
    await assert.rejects(readRecord(outputs, digest), (error: BuilderError) => error.code === 'BAD_OUTPUT' && /not valid JSON.*remove the directory/.test(error.message));
    await writeFile(outputPaths(outputs, digest).record, JSON.stringify({ image: 'core-x' }));
    await assert.rejects(readRecord(outputs, digest), (error: BuilderError) => error.code === 'BAD_OUTPUT' && /platform/.test(error.message));
  });
});
