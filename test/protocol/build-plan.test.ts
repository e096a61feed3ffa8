import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planBuilds } from '../../protocol/build-plan.ts';
import { resolveTree } from '../../protocol/tree/graph.ts';
import { inputDigests } from '../../protocol/tree/input-digest.ts';
import { fakePackage } from '../helpers/tree.ts';

// seed (386 only) <- stage3 (amd64, FROM the seed) <- gcc <- make, zlib; hello alone
const tree = resolveTree([
  fakePackage('bootstrap-seed', { meta: 'version = "1"\nplatforms = ["linux/386"]' }),
  fakePackage('bootstrap-stage3', { deps: ['bootstrap-seed'] }),
  fakePackage('core-gcc', { deps: ['bootstrap-stage3'] }),
  fakePackage('core-make', { deps: ['core-gcc'] }),
  fakePackage('core-zlib', { deps: ['core-gcc'] }),
  fakePackage('user-hello', { meta: 'version = "2"\nplatforms = ["linux/amd64", "linux/arm64"]' }),
]);
const digests = inputDigests(tree);
const AMD64_386 = ['linux/amd64', 'linux/386'];
const names = (steps: { image: string; platform: string }[]) => steps.map((s) => `${s.image} ${s.platform}`);

describe('planBuilds', () => {
  it('builds what is chosen and everything it needs, each after its needs', () => {
    const plan = planBuilds(tree, digests, AMD64_386, (id) => id.image === 'core-make');
    assert.deepEqual(names(plan.steps), ['bootstrap-seed linux/386', 'bootstrap-stage3 linux/amd64', 'core-gcc linux/amd64', 'core-make linux/amd64']);
    assert.deepEqual(plan.steps.map((s) => s.chosen), [false, false, false, true]);
    assert.deepEqual(plan.steps[1]!.needs, [{ image: 'bootstrap-seed', platform: 'linux/386', inputDigest: digests.get('bootstrap-seed')!.get('linux/386')! }]);
    assert.equal(plan.steps[3]!.inputDigest, digests.get('core-make')!.get('linux/amd64'));
    assert.deepEqual(plan.leftOut, []);
  });

  it('leaves out what this machine cannot build, and everything that needs it, saying why', () => {
    const plan = planBuilds(tree, digests, ['linux/amd64'], (id) => id.image === 'core-zlib' || id.image === 'user-hello');
    assert.deepEqual(names(plan.steps), ['user-hello linux/amd64']);
    assert.deepEqual(plan.leftOut.map((l) => [l.image, l.reason]), [
      ['bootstrap-seed', 'this machine builds linux/amd64, not linux/386'],
      ['bootstrap-stage3', 'needs bootstrap-seed (linux/386), which cannot be built here'],
      ['core-gcc', 'needs bootstrap-stage3 (linux/amd64), which cannot be built here'],
      ['core-zlib', 'needs core-gcc (linux/amd64), which cannot be built here'],
    ]);
    assert.equal(plan.leftOut.at(-1)!.chosen, true);
  });

  it('plans each platform of an image the machine builds, and only those', () => {
    assert.deepEqual(names(planBuilds(tree, digests, ['linux/amd64', 'linux/arm64'], (id) => id.image === 'user-hello').steps), ['user-hello linux/amd64', 'user-hello linux/arm64']);
    assert.deepEqual(names(planBuilds(tree, digests, ['linux/arm64'], (id) => id.platform === 'linux/arm64').steps), ['user-hello linux/arm64']);
  });

  it('plans nothing when nothing is chosen', () => {
    assert.deepEqual(planBuilds(tree, digests, AMD64_386, () => false), { steps: [], leftOut: [] });
  });
});
