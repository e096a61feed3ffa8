import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { importFiles, ingestBatches, storeSubmit } from '../../daemon/ingest.ts';
import { inlineVerifier, VerifyPool } from '../../daemon/verify-pool.ts';
import { AttestationStore } from '../../store/store.ts';
import { checkStore } from '../../store/check.ts';
import { envelopeBytes, hex64, policyOf, reshaped, signers } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const keys = signers(2);
const policy = policyOf(2, keys);

describe('importFiles into the store', () => {
  it('stores the canonical form once, refuses a keyless signature and a key past its cap with their codes', async () => {
    const dir = tempDir('stagex-import');
    const store = await AttestationStore.open(join(dir, 'db'));
    const by = (digest: string) => envelopeBytes(keys[0]!, { digest: hex64(digest) });
    const files: [string, Uint8Array][] = [
      ['1-one.json', by('one')],
      ['2-one-reshaped.json', reshaped(by('one'), (e) => ({ ...e, note: 'x', signatures: [...e.signatures, ...e.signatures] }))],
      ['3-keyless.json', reshaped(by('one'), (e) => ({ ...e, signatures: [{ sig: e.signatures[0]!.sig }] }))],
      ['4-two.json', by('two')],
      ['5-three.json', by('three')],
    ];
    for (const [name, bytes] of files) await writeFile(join(dir, name), bytes);
    const outcomes = await importFiles(files.map(([name]) => join(dir, name)), storeSubmit(store, policy));
    assert.deepEqual(outcomes.map((o) => (o.result === 'error' ? o.code : o.result)), ['added', 'present', 'MISSING_KEYID', 'added', 'KEY_DIGEST_CAP']);
    assert.equal(await store.count(), 2);
    await store.close();
  });
});

describe('ingestBatches', () => {
  const by = (key: number | 'both', i: number, digest = `out ${i}`) => envelopeBytes(key === 'both' ? keys : keys[key]!, { image: `core-p${i}`, inputDigest: hex64(`in ${i}`), digest: hex64(digest) });
  // 40 batches of 25: new envelopes (one of both keys), a re-encoded copy of one in the batch
  // before (present), one keyless (refused), and from the second batch on a third digest for
  // key 0 on the identity of envelope 0 (capped).
  const batches = Array.from({ length: 40 }, (_, b) => Array.from({ length: 25 }, (_, j) => {
    const i = b * 25 + j;
    if (j === 3 && b > 0) return reshaped(by((i - 26) % 2, i - 26), (e) => ({ ...e, extra: true }));
    if (j === 4) return reshaped(by(1, i), (e) => ({ ...e, signatures: [{ sig: e.signatures[0]!.sig }] }));
    if (j === 5) return by(0, 0, `other ${b}`);
    return by(j === 6 ? 'both' : i % 2, i);
  }));
  const expected = { added: 40 * 22 + 2, present: 39, refused: 40, capped: 39 };

  for (const [name, make] of [['inline', () => inlineVerifier(policy)], ['on a pool of 2 workers', () => new VerifyPool({ threshold: 2, keys: keys.map((k, i) => ({ name: `k${i}`, publicKey: k.publicKey })) }, 2)]] as const) {
    it(`stores every valid envelope once and counts the rest (${name}), leaving a consistent store`, async () => {
      const store = await AttestationStore.open(join(tempDir('stagex-ingest'), 'db'));
      const made = make();
      try {
        const counts = await ingestBatches(batches, store, 'verify' in made ? made.verify : made, 'test');
        assert.deepEqual({ added: counts.added, present: counts.present, refused: counts.refused.length, capped: counts.capped }, expected);
        assert.ok(counts.refused.every((r) => r.code === 'MISSING_KEYID'));
        assert.equal(await store.count(), expected.added);
        const check = await checkStore(store);
        assert.deepEqual(check.problems, []);
        assert.equal(check.envelopes, expected.added);
      } finally {
        if ('close' in made) await made.close();
        await store.close();
      }
    });
  }

  it('rejects with the store\'s error when a write fails, while later batches are being verified', async () => {
    const store = await AttestationStore.open(join(tempDir('stagex-ingest'), 'db'));
    await store.close();
    await assert.rejects(ingestBatches(batches, store, inlineVerifier(policy), 'test'), /closed|not open/i);
  });

  it('rejects with the source\'s error when the batches stop early, leaving no verification unhandled', async () => {
    const store = await AttestationStore.open(join(tempDir('stagex-ingest'), 'db'));
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    let failVerify!: (error: Error) => void;
    const verifying = new Promise<never>((_, reject) => { failVerify = reject; });
    async function* misbehaving() {
      yield batches[0]!;
      throw new Error('peer misbehaved');
    }
    try {
      await assert.rejects(ingestBatches(misbehaving(), store, () => verifying, 'test'), /peer misbehaved/);
      failVerify(new Error('verification failed after the round ended'));
      // Node reports unhandled rejections once the microtasks of this turn have run, before the next turn's callbacks.
      await new Promise(setImmediate);
      assert.deepEqual(unhandled, []);
      assert.equal(await store.count(), 0);
    } finally {
      process.off('unhandledRejection', record);
      await store.close();
    }
  });
});
