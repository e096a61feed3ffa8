import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Level } from 'level';
import { AttestationStore } from '../../store/store.ts';
import { readAttestation } from '../../protocol/attestation.ts';
import { parseEnvelope } from '../../protocol/dsse.ts';
import { envelopeBytes, hex64, policyOf, reshaped, signer, signers } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';
import { queryDigest, verdictsFor } from '../../store/queries.ts';
import type { OpenpgpVote } from '../../protocol/stagex-signature.ts';

const keys = signers(3);
const [a, b] = keys as [typeof keys[0], typeof keys[0]];
const policy = policyOf(2, keys);
const att = (by: typeof a, overrides = {}) => readAttestation(envelopeBytes(by, overrides), policy, 'test');

describe('AttestationStore', () => {
  it('stores an envelope once by its hash and returns the exact bytes', async () => {
    const store = await AttestationStore.open(join(tempDir(), 'db'));
    const x = att(a);
    assert.equal(await store.put(x), 'added');
    assert.equal(await store.put(x), 'present');
    assert.ok(Buffer.from(x.bytes).equals((await store.get(x.hash))!));
    assert.equal(await store.count(), 1);
    assert.equal((await store.votes()).votes.length, 1);
    await store.close();
  });

  it('survives close and reopen', async () => {
    const path = join(tempDir(), 'db');
    let store = await AttestationStore.open(path);
    await store.put(att(a));
    await store.put(att(b));
    await store.close();
    store = await AttestationStore.open(path);
    assert.equal(await store.count(), 2);
    const { verdicts } = await verdictsFor(store, policy);
    assert.equal(verdicts[0]!.status, 'trusted');
    await store.close();
  });

  it('answers by image and key with range reads, and by digest', async () => {
    const store = await AttestationStore.open(join(tempDir(), 'db'));
    const engine = hex64('engine');
    await store.put(att(a, { image: 'core-gcc', engineDigest: engine }));
    await store.put(att(a, { image: 'core-gcc-extra' }));
    await store.put(att(b, { image: 'core-busybox' }));
    assert.deepEqual((await store.votes({ image: 'core-gcc' })).votes.map((v) => v.image), ['core-gcc']);
    assert.deepEqual((await store.votesByKey(a.keyid)).votes.map((v) => v.image).sort(), ['core-gcc', 'core-gcc-extra']);
    assert.deepEqual((await queryDigest(store, policy, engine)).votes.map((v) => v.image), ['core-gcc']);
    const byDigest = await queryDigest(store, policy, hex64('output core-busybox'));
    assert.equal(byDigest.votes.length, 3);
    assert.equal(byDigest.verdicts.length, 3);
    await store.close();
  });

  it('reports a corrupt or foreign value instead of throwing', async () => {
    const path = join(tempDir(), 'db');
    let store = await AttestationStore.open(path);
    await store.put(att(a));
    await store.close();
    const raw = new Level<string, string>(path);
    await raw.put('!tally!core-x linux/amd64 nothex', 'garbage');
    await raw.put('!tally!' + 'core-other linux/amd64 ' + hex64('input core-other'), 'garbage line');
    await raw.close();
    store = await AttestationStore.open(path);
    const result = await store.votes();
    assert.equal(result.votes.length, 1);
    assert.equal(result.problems.length, 2);
    assert.equal(result.problems[0]!.sublevel, 'tally');
    await store.close();
  });

  it('refuses to open a path that is not a database, with a clear error', async () => {
    const dir = tempDir();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'file'), 'x');
    await assert.rejects(AttestationStore.open(join(dir, 'file')), { code: 'STORE_OPEN_FAILED' });
  });

  it('with lockWaitMs, waits for the process holding the lock to let go (a daemon starting during a CLI read)', async () => {
    const path = join(tempDir(), 'db');
    const holder = await AttestationStore.open(path);
    await holder.put(att(a));
    await assert.rejects(AttestationStore.open(path), (e: Error & { code?: string }) => e.code === 'STORE_OPEN_FAILED' && /running stagex-node holds it/.test(e.message));
    const waiting = AttestationStore.open(path, { lockWaitMs: 120_000 });
    await holder.close();
    const store = await waiting;
    assert.equal((await store.votes()).votes.length, 1);
    await store.close();
  });

  it('with lockWaitMs, still fails with the lock error once the wait is over', async () => {
    const path = join(tempDir(), 'db');
    const holder = await AttestationStore.open(path);
    await assert.rejects(AttestationStore.open(path, { lockWaitMs: 300 }), (e: Error & { code?: string }) => e.code === 'STORE_OPEN_FAILED' && /running stagex-node holds it/.test(e.message));
    await holder.close();
  });
});

describe('AttestationStore: the per-key cap (DESIGN section 6)', () => {
  const rebuilt = (by: typeof a, digest: string, run: string) => att(by, { digest: hex64(digest), finishedOn: `2026-11-25T00:0${run}:00.000Z` });

  it('keeps one envelope per key, identity and digest: a rebuild with new timestamps is KEY_ALREADY_VOTED', async () => {
    const store = await AttestationStore.open(join(tempDir(), 'db'));
    assert.equal(await store.put(rebuilt(a, 'one', '1')), 'added');
    await assert.rejects(store.put(rebuilt(a, 'one', '2')), { code: 'KEY_ALREADY_VOTED' });
    assert.equal(await store.put(rebuilt(b, 'one', '2')), 'added', 'another key is not capped by the first');
    assert.equal(await store.count(), 2);
    await store.close();
  });

  it('keeps a second digest as equivocation evidence and refuses a third as KEY_DIGEST_CAP', async () => {
    const store = await AttestationStore.open(join(tempDir(), 'db'));
    assert.equal(await store.put(rebuilt(a, 'one', '1')), 'added');
    assert.equal(await store.put(rebuilt(a, 'two', '1')), 'added');
    await assert.rejects(store.put(rebuilt(a, 'three', '1')), { code: 'KEY_DIGEST_CAP' });
    const { verdicts } = await verdictsFor(store, policy);
    assert.deepEqual(verdicts[0]!.equivocating.map((e) => e.keyid), [a.keyid]);
    assert.equal(await store.count(), 2);
    await store.close();
  });

  it('applies the cap within one batch, in list order, and after a reopen', async () => {
    const path = join(tempDir(), 'db');
    let store = await AttestationStore.open(path);
    const results = await store.putMany([rebuilt(a, 'one', '1'), rebuilt(a, 'one', '2'), rebuilt(a, 'two', '1'), rebuilt(a, 'three', '1')]);
    assert.deepEqual(results.map((r) => (typeof r === 'object' ? r.code : r)), ['added', 'KEY_ALREADY_VOTED', 'added', 'KEY_DIGEST_CAP']);
    await store.close();
    store = await AttestationStore.open(path);
    await assert.rejects(store.put(rebuilt(a, 'four', '1')), { code: 'KEY_DIGEST_CAP' });
    assert.equal(await store.count(), 2);
    await store.close();
  });

  it('stores variants of one attestation that only unsigned bytes tell apart as one envelope', async () => {
    const store = await AttestationStore.open(join(tempDir(), 'db'));
    const bytes = envelopeBytes(a);
    const [stranger] = parseEnvelope(envelopeBytes(signer(9)), 'test').signatures;
    const variants = [
      bytes,
      reshaped(bytes, (e) => ({ ...e, comment: 'unknown field' })),
      reshaped(bytes, (e) => ({ ...e, payload: e.payload.replace(/=+$/, '') })),
      reshaped(bytes, (e) => ({ ...e, signatures: [...e.signatures, ...e.signatures] })),
      reshaped(bytes, (e) => ({ ...e, signatures: [stranger!, ...e.signatures] })),
    ];
    const results = await store.putMany(variants.map((v) => readAttestation(v, policy, 'test')));
    assert.deepEqual(results, ['added', 'present', 'present', 'present', 'present']);
    assert.equal(await store.count(), 1);
    assert.ok(Buffer.from(bytes).equals((await store.get(readAttestation(bytes, policy, 'test').hash))!));
    await store.close();
  });
});

describe('AttestationStore: StageX OpenPGP votes', () => {
  const vote = (image: string, fingerprint: string, file = hex64(`${image} ${fingerprint}`)): OpenpgpVote => ({ image, digest: hex64(`manifest ${image}`), fingerprint, file, created: '2026-12-01T10:00:00.000Z' });
  const F1 = 'a1'.repeat(20);
  const F2 = 'b2'.repeat(20);

  it('adds a vote once: a repeat, in the same batch or later, is present and changes nothing', async () => {
    const store = await AttestationStore.open(join(tempDir(), 'db'));
    const x = vote('core-a', F1);
    assert.deepEqual(await store.putOpenpgpVotes([x, x, vote('core-a', F2)]), ['added', 'present', 'added']);
    assert.deepEqual(await store.putOpenpgpVotes([{ ...x, created: '2030-01-01T00:00:00.000Z' }]), ['present']);
    assert.deepEqual((await store.openpgpVotes(['core-a'])).votes.map((v) => [v.fingerprint, v.created]), [[F1, x.created], [F2, x.created]], 'a later write never overwrites');
    await store.close();
  });

  it('reads an image\'s votes as a range: not its neighbours whose names it prefixes', async () => {
    const store = await AttestationStore.open(join(tempDir(), 'db'));
    await store.putOpenpgpVotes([vote('core-a', F1), vote('core-ab', F1), vote('core-b', F2), vote('user-z', F2)]);
    assert.deepEqual((await store.openpgpVotes(['core-a'])).votes.map((v) => v.image), ['core-a']);
    assert.deepEqual((await store.openpgpVotes(['core-a', 'user-z'])).votes.map((v) => v.image), ['core-a', 'user-z']);
    assert.equal((await store.openpgpVotes()).votes.length, 4);
    assert.deepEqual((await store.openpgpVotes([])).votes, []);
    await store.close();
  });

  it('reports a foreign value as a problem instead of a vote', async () => {
    const path = join(tempDir(), 'db');
    const raw = new Level<string, string>(path);
    await raw.put(`!pgp!core-a ${hex64('x')} ${F1} ${hex64('f')}`, 'yesterday');
    await raw.close();
    const store = await AttestationStore.open(path);
    const { votes, problems } = await store.openpgpVotes(['core-a']);
    assert.deepEqual([votes.length, problems.map((p) => p.sublevel)], [0, ['pgp']]);
    await store.close();
  });
});
