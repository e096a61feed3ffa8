/**
 * The builder's decisions on the whole real StageX 2025.10.0 tree (real-stage0.test.ts builds its
 * first stage): its bootstrap pins hold, what a machine cannot build is left out with the reason,
 * and what would pull is named.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkSeeds, parsePins } from '../../protocol/bootstrap.ts';
import { planBuilds } from '../../protocol/build-plan.ts';
import { inputDigests } from '../../protocol/tree/input-digest.ts';
import { loadTree } from '../../daemon/tree.ts';
import { skipWithoutTree, STAGEX_TREE } from '../helpers/shared.ts';

const PINS = join(import.meta.dirname, '..', '..', 'bootstrap', 'stagex-2025.10.0.json');

describe('the real tree', { skip: skipWithoutTree }, async () => {
  const tree = skipWithoutTree ? undefined : await loadTree(STAGEX_TREE);

  it('meets its bootstrap pins: the 181-byte hex0-seed has the pinned sha256', async () => {
    const pins = parsePins(JSON.parse(await readFile(PINS, 'utf8')), PINS);
    assert.deepEqual([...pins.keys()], ['bootstrap-stage0', 'bootstrap-stage1', 'bootstrap-stage2', 'bootstrap-stage3']);
    for (const [image, pin] of pins) assert.deepEqual(checkSeeds(tree!.packages.get(image)!, pin), [], image);
    const tampered = { ...tree!.packages.get('bootstrap-stage0')!, files: { ...tree!.packages.get('bootstrap-stage0')!.files, 'hex0-seed': '0'.repeat(64) } };
    assert.equal(checkSeeds(tampered, pins.get('bootstrap-stage0')!).length, 1);
  });

  it('on a 64-bit-only machine, leaves every image out: all stand on the linux/386 seed', () => {
    const plan = planBuilds(tree!, inputDigests(tree!), ['linux/amd64'], () => true);
    assert.equal(plan.steps.length, 0);
    assert.equal(plan.leftOut.length, [...tree!.images.values()].reduce((n, image) => n + image.platforms.length, 0));
    assert.match(plan.leftOut.find((l) => l.image === 'bootstrap-stage0')!.reason, /builds linux\/amd64, not linux\/386/);
    assert.match(plan.leftOut.find((l) => l.image === 'core-gcc')!.reason, /^needs .*, which cannot be built here$/);
  });

  it('with linux/386 too, plans every image after what it needs', () => {
    const plan = planBuilds(tree!, inputDigests(tree!), ['linux/amd64', 'linux/386'], () => true);
    assert.equal(plan.leftOut.filter((l) => !['linux/amd64', 'linux/386'].includes(l.platform)).length, plan.leftOut.length);
    const at = new Map(plan.steps.map((s, i) => [`${s.image} ${s.platform}`, i]));
    for (const [i, step] of plan.steps.entries()) for (const need of step.needs) assert.ok(at.get(`${need.image} ${need.platform}`)! < i);
    assert.ok(plan.steps.length >= 433);
  });

  it('finds nothing an engine would pull but the `fetch` build context, which the builder gives itself', () => {
    const external = [...tree!.packages.values()].filter((p) => p.external.length > 0);
    assert.ok(external.every((p) => p.external.every((e) => e.ref === 'fetch')), JSON.stringify(external.map((p) => [p.id, p.external])));
    assert.ok(external.length > 0 && external.length < 10, `${external.length} packages`);
  });
});
