import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { HashIndex, idOf } from '../../../daemon/net/hash-index.ts';
import { BucketSummary } from '../../../protocol/sync.ts';
import { readAttestation } from '../../../protocol/attestation.ts';
import { envelopeBytes, policyOf, signers } from '../../helpers/fixtures.ts';
import { gatedIndexStore } from '../../helpers/gated-index-store.ts';

const hashOf = (i: number) => createHash('sha256').update(`envelope ${i}`).digest('hex');

describe('HashIndex (compact sorted buckets)', () => {
  it('answers has, lookup, size and ids exactly as a set of hex hashes would, across merges', () => {
    const index = new HashIndex();
    const reference = new BucketSummary();
    const hashes = Array.from({ length: 40_000 }, (_, i) => hashOf(i));
    for (const h of hashes) {
      index.add(h);
      reference.add(Buffer.from(h, 'hex'));
    }
    for (const h of hashes.slice(0, 100)) index.add(h);
    assert.equal(index.size, hashes.length, 'adding a stored hash again changes nothing');
    for (const h of hashes) {
      assert.equal(index.has(h), true, h);
      assert.equal(index.lookup(idOf(h)), h);
    }
    for (let i = 40_000; i < 41_000; i++) assert.equal(index.has(hashOf(i)), false);
    assert.deepEqual(index.summary.differing(reference), [], 'the bucket summary covers every hash once');
    const ids = [...index.inBuckets(Array.from({ length: 256 }, (_, b) => b))].map((id) => Buffer.from(id).toString('hex')).sort();
    assert.deepEqual(ids, hashes.map(idOf).sort());
  });

  it('a hash sharing a stored id but differing after it is not "stored"', () => {
    const index = new HashIndex();
    const h = hashOf(1);
    index.add(h);
    const twin = h.slice(0, 16) + 'f'.repeat(48);
    assert.equal(index.has(twin), false);
    index.add(twin);
    assert.equal(index.size, 1, 'one envelope per id');
    assert.equal(index.lookup('zz'), undefined, 'a malformed id finds nothing');
  });

  it('agrees with a Set on any sequence of adds (fast-check, seed-fixed)', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 400 }), fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 50 }), (added, probes) => {
      const index = new HashIndex();
      const byId = new Map<string, string>();
      for (const bytes of added) {
        const h = Buffer.from(bytes).toString('hex');
        index.add(h);
        if (!byId.has(idOf(h))) byId.set(idOf(h), h);
      }
      assert.equal(index.size, byId.size);
      for (const h of [...added, ...probes].map((b) => Buffer.from(b).toString('hex'))) {
        assert.equal(index.lookup(idOf(h)), byId.get(idOf(h)));
        assert.equal(index.has(h), byId.get(idOf(h)) === h);
      }
    }), { seed: 20261206, numRuns: 300 });
  });

  it('a load over hashes in any order, repeated ids included, agrees with adding them one by one (fast-check, seed-fixed)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 300 }), fc.boolean(), async (bytes, sorted) => {
      const hashes = bytes.map((b) => Buffer.from(b).toString('hex'));
      if (sorted) hashes.sort();
      const one = new HashIndex();
      for (const h of hashes) one.add(h);
      const loaded = HashIndex.open({ async *hashes() { yield* hashes; }, onAdded: () => {} });
      assert.equal(await loaded.loaded, true);
      assert.equal(loaded.size, one.size);
      assert.deepEqual(loaded.summary.differing(one.summary), []);
      for (const h of hashes) assert.equal(loaded.lookup(idOf(h)), one.lookup(idOf(h)));
      loaded.add(hashOf(7));
      assert.equal(loaded.has(hashOf(7)), true, 'adds after the load (buckets shared with the loaded array)');
    }), { seed: 20261206, numRuns: 200 });
  });

  it('a load of more hashes than one 4 MiB chunk holds (buckets across chunk ends) answers as adding one by one', async () => {
    const hashes = Array.from({ length: 300_000 }, (_, i) => hashOf(i)).sort();
    const one = new HashIndex();
    for (const h of hashes) one.add(h);
    const loaded = HashIndex.open({ async *hashes() { yield* hashes; }, onAdded: () => {} });
    assert.equal(await loaded.loaded, true);
    assert.equal(loaded.size, hashes.length);
    assert.deepEqual(loaded.summary.differing(one.summary), []);
    for (const h of hashes) assert.equal(loaded.has(h), true, h);
    const all = Array.from({ length: 256 }, (_, b) => b);
    assert.equal([...loaded.inBuckets(all)].length, hashes.length);
    for (let i = 300_000; i < 301_000; i++) loaded.add(hashOf(i));
    for (let i = 0; i < 301_000; i += 97) assert.equal(loaded.has(hashOf(i)), true);
  });

  it('loads in the background: partial and not ready until the scan ends, then whole, each write counted once', async () => {
    const keys = signers(1);
    const policy = policyOf(1, keys);
    const stored = Array.from({ length: 50 }, (_, i) => readAttestation(envelopeBytes(keys[0]!, { image: `core-p${i}` }), policy, 'test'));
    const gated = gatedIndexStore(stored);
    const index = HashIndex.open(gated.store);
    assert.equal(index.ready, false);
    // A write during the load: the listener sees it, and the scan (gated) sees stored[10] too.
    gated.added([stored[10]!]);
    const late = readAttestation(envelopeBytes(keys[0]!, { image: 'core-late' }), policy, 'test');
    gated.added([late]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(index.ready, false, 'the scan is held midway');
    assert.ok(index.size < stored.length);
    gated.release();
    assert.equal(await index.loaded, true);
    assert.equal(index.ready, true);
    assert.equal(index.size, stored.length + 1, 'stored[10], seen by both, counted once');
    const reference = new BucketSummary();
    for (const a of [...stored, late]) {
      reference.add(Buffer.from(a.hash, 'hex'));
      assert.equal(index.has(a.hash), true);
    }
    assert.deepEqual(index.summary.differing(reference), []);
  });

  it('a load that fails says why through its callback and leaves the index not ready', async () => {
    const failures: string[] = [];
    const index = HashIndex.open({
      async *hashes() {
        throw new Error('store closed');
      },
      onAdded: () => {},
    }, (error) => failures.push(error.message));
    assert.equal(await index.loaded, false);
    assert.equal(index.ready, false);
    assert.deepEqual(failures, ['store closed']);
  });
});
