import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from '../../scripts/local-network.ts';
import { skipWithoutTree, STAGEX_DIGESTS, STAGEX_TREE } from '../helpers/shared.ts';

describe('stagex-node plan', { skip: skipWithoutTree }, () => {
  it('plans exactly the 433 images of the real tree\'s digests files, each after its dependencies', async () => {
    const result = await cli('plan', '--tree', STAGEX_TREE, '--json');
    assert.equal(result.code, 0, result.err);
    const { images, errors } = JSON.parse(result.out) as { images: { name: string; dependencies: string[]; inputDigests: Record<string, string> }[]; errors: unknown[] };
    assert.deepEqual(errors, []);
    const listed = readdirSync(STAGEX_DIGESTS).flatMap((f) => readFileSync(join(STAGEX_DIGESTS, f), 'utf8').trim().split('\n').map((l) => l.split(' ')[1]));
    assert.deepEqual(images.map((i) => i.name).sort(), listed.sort());
    const position = new Map(images.map((i, n) => [i.name, n]));
    for (const image of images) {
      for (const dep of image.dependencies) assert.ok(position.get(dep)! < position.get(image.name)!, `${dep} before ${image.name}`);
      for (const digest of Object.values(image.inputDigests)) assert.match(digest, /^[0-9a-f]{64}$/);
    }
  });
  it('plans the closure of the requested images only', async () => {
    const result = await cli('plan', '--tree', STAGEX_TREE, 'core-make', '--json');
    const names = (JSON.parse(result.out).images as { name: string }[]).map((i) => i.name);
    assert.equal(names.at(-1), 'core-make');
    assert.ok(names.includes('bootstrap-stage0'));
    assert.ok(names.length < 20);
  });
  it('refuses an image the tree does not have, naming it', async () => {
    const result = await cli('plan', '--tree', STAGEX_TREE, 'core-nope');
    assert.equal(result.code, 3);
    assert.match(result.err, /core-nope/);
  });
  it('says clearly when a directory is no StageX tree', async () => {
    const result = await cli('plan', '--tree', '/nonexistent-tree');
    assert.equal(result.code, 3);
    assert.match(result.err, /packages\/ directory/);
  });
});
