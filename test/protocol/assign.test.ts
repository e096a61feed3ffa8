import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { globMatches, isAssigned, rendezvous } from '../../protocol/assign.ts';
import { sha256Hex } from '../../protocol/encoding.ts';

const keys = ['alice', 'bob', 'carol', 'dave', 'erin'].map((name) => sha256Hex(name));
const digests = Array.from({ length: 400 }, (_, i) => sha256Hex(`input ${i}`));

describe('rendezvous', () => {
  it('picks R distinct keys, the same whatever order the keys are given in', () => {
    for (const digest of digests.slice(0, 50)) {
      const picked = rendezvous(keys, digest, 3);
      assert.equal(new Set(picked).size, 3);
      assert.deepEqual(rendezvous([...keys].reverse(), digest, 3), picked);
    }
  });

  it('spreads images over keys: each key builds roughly R/N of them', () => {
    const counts = new Map(keys.map((k) => [k, 0]));
    for (const digest of digests) for (const key of rendezvous(keys, digest, 3)) counts.set(key, counts.get(key)! + 1);
    // expected 400 * 3 / 5 = 240 each
    for (const [, n] of counts) assert.ok(n > 190 && n < 290, `${n} of 400`);
  });

  it('moves only the images a removed key had: every other builder keeps its images', () => {
    const without = keys.filter((k) => k !== keys[0]);
    for (const digest of digests) {
      const before = rendezvous(keys, digest, 3).filter((k) => k !== keys[0]);
      const after = rendezvous(without, digest, 3);
      for (const key of before) assert.ok(after.includes(key));
    }
  });

  it('gives every key when R is at least N, and counts a key listed twice once', () => {
    assert.deepEqual(new Set(rendezvous([...keys, keys[0]!], digests[0]!, 9)), new Set(keys));
  });
});

describe('isAssigned', () => {
  it('auto: exactly R of the N trusted keys build each input digest', () => {
    for (const digest of digests.slice(0, 100)) {
      const builders = keys.filter((self) => isAssigned({ assign: 'auto', voters: keys, self, replicas: 2 }, 'core-x', digest));
      assert.equal(builders.length, 2);
    }
  });

  it('auto: a key that is not trusted builds nothing', () => {
    assert.equal(digests.some((d) => isAssigned({ assign: 'auto', voters: keys, self: sha256Hex('mallory'), replicas: 5 }, 'core-x', d)), false);
  });

  it('globs: any glob matching the image name assigns it', () => {
    const input = { assign: ['core-*', 'user-vim?'], voters: keys, self: keys[0]!, replicas: 3 };
    assert.equal(isAssigned(input, 'core-gcc', digests[0]!), true);
    assert.equal(isAssigned(input, 'user-vimx', digests[0]!), true);
    assert.equal(isAssigned(input, 'user-vim', digests[0]!), false);
    assert.equal(isAssigned(input, 'pallet-core-x', digests[0]!), false);
  });
});

describe('globMatches', () => {
  it('treats everything but * and ? literally', () => {
    assert.equal(globMatches('core-g.c', 'core-gcc'), false);
    assert.equal(globMatches('core-g.c', 'core-g.c'), true);
    assert.equal(globMatches('user-[a]', 'user-[a]'), true);
    assert.equal(globMatches('*', 'anything'), true);
    assert.equal(globMatches('core-?', 'core-'), false);
  });
});
