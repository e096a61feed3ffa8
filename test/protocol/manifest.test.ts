import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.ts';
import { agreedEngineDigests, decideManifest, parseManifest, type ManifestEntry } from '../../protocol/manifest.ts';
import { compileTrust } from '../../protocol/trust.ts';
import type { OpenpgpVote } from '../../protocol/stagex-signature.ts';
import { decide } from '../../protocol/threshold.ts';
import { readAttestation, type Vote } from '../../protocol/attestation.ts';
import { envelopeBytes, hex64, policyOf, signers } from '../helpers/fixtures.ts';
import { readManifest } from '../../daemon/manifest-files.ts';
import { skipWithoutTree, STAGEX_DIGESTS } from '../helpers/shared.ts';

const keys = signers(3);
const policy = policyOf(2, keys);

function verdictsFrom(envelopes: Uint8Array[]) {
  const votes: Vote[] = envelopes.flatMap((b) => readAttestation(b, policy, 'test').votes);
  const verdicts = decide(votes, policy);
  return (image: string) => ({ verdicts: verdicts.filter((v) => v.identity.image === image), openpgp: [] });
}

describe('parseManifest', () => {
  it('reads digest lines and skips blank ones', () => {
    const entries = parseManifest(`${hex64('a')} core-a\n\n${hex64('b')} user-b\n`, 'x.txt');
    assert.deepEqual(entries.map((e) => [e.image, e.where]), [['core-a', 'x.txt:1'], ['user-b', 'x.txt:3']]);
  });
  for (const [name, text] of [
    ['a short digest', 'abc core-a'],
    ['an unknown stage', `${hex64('a')} extra-a`],
    ['uppercase hex', `${hex64('a').toUpperCase()} core-a`],
    ['an image listed twice', `${hex64('a')} core-a\n${hex64('b')} core-a`],
  ]) {
    it(`rejects ${name}, naming file and line`, () => {
      assert.throws(() => parseManifest(text!, 'bad.txt'), (error: Error & { code?: string }) => error.code === 'BAD_MANIFEST' && /bad\.txt:\d/.test(error.message));
    });
  }
});

describe('decideManifest', () => {
  const [a, b, c] = keys as [typeof keys[0], typeof keys[0], typeof keys[0]];
  const D = hex64('canonical');
  const E = hex64('engine');
  const entry = (image: string, digest: string): ManifestEntry => ({ image, digest, where: 'm.txt:1' });
  const reasons = (v: ReturnType<typeof decideManifest>) => v.entries.map((e) => (e.holds ? e.via : e.reason));

  it('holds at the trusted canonical digest, naming its voters', () => {
    const v = decideManifest([entry('core-busybox', D)], verdictsFrom([envelopeBytes(a, { digest: D }), envelopeBytes(b, { digest: D })]), policy);
    assert.equal(v.trusted, true);
    assert.deepEqual(reasons(v), ['canonical']);
    assert.deepEqual(v.entries[0]!.vouchers, [{ signer: 'k0', via: ['attestation'] }, { signer: 'k1', via: ['attestation'] }]);
  });
  it('holds at an engine digest recorded by at least M signers', () => {
    const of = verdictsFrom([envelopeBytes(a, { digest: D, engineDigest: E }), envelopeBytes(b, { digest: D, engineDigest: E })]);
    assert.deepEqual(reasons(decideManifest([entry('core-busybox', E)], of, policy)), ['vouched']);
  });
  it('does not hold at an engine digest fewer than M signers recorded', () => {
    const of = verdictsFrom([envelopeBytes(a, { digest: D, engineDigest: E }), envelopeBytes(b, { digest: D })]);
    assert.deepEqual(reasons(decideManifest([entry('core-busybox', E)], of, policy)), ['digest-differs']);
  });
  it('lists every failing entry with its reason', () => {
    const of = verdictsFrom([
      envelopeBytes(a, { digest: D }),
      envelopeBytes(a, { image: 'core-gcc', digest: D }), envelopeBytes(b, { image: 'core-gcc', digest: E }),
    ]);
    const v = decideManifest([entry('core-busybox', D), entry('core-gcc', D), entry('core-zlib', D)], of, policy);
    assert.equal(v.trusted, false);
    assert.deepEqual(v.failing.map((e) => [e.image, !e.holds && e.reason]), [['core-busybox', 'pending'], ['core-gcc', 'conflict'], ['core-zlib', 'unknown']]);
  });
  it('gives a conflict\'s evidence: each digest with the keys (signer and keyid) that voted it', () => {
    const of = verdictsFrom([envelopeBytes(a, { digest: D }), envelopeBytes(b, { digest: D }), envelopeBytes(c, { digest: E })]);
    const [e] = decideManifest([entry('core-busybox', D)], of, policy).entries;
    assert.ok(e && !e.holds && e.reason === 'conflict');
    const input = hex64('input core-busybox');
    assert.deepEqual(e.evidence, [
      { digest: D, platform: 'linux/amd64', inputDigest: input, keys: [a, b].map((k, i) => ({ signer: `k${i}`, keyid: k.keyid })).sort((x, y) => (x.keyid < y.keyid ? -1 : 1)) },
      { digest: E, platform: 'linux/amd64', inputDigest: input, keys: [{ signer: 'k2', keyid: c.keyid }] },
    ]);
  });
  it('names an equivocating key and both its digests on the entry, whatever the verdict', () => {
    const of = verdictsFrom([envelopeBytes(a, { digest: D }), envelopeBytes(b, { digest: D }), envelopeBytes(c, { digest: D }), envelopeBytes(c, { digest: E })]);
    const [e] = decideManifest([entry('core-busybox', D)], of, policy).entries;
    assert.ok(e?.holds, 'the equivocator\'s votes are void, so no conflict: k0 and k1 make it trusted');
    assert.deepEqual(e.equivocating, [{ signer: 'k2', keyid: c.keyid, platform: 'linux/amd64', inputDigest: hex64('input core-busybox'), digests: [D, E].sort() }]);
    assert.deepEqual(e.vouchers.map((v) => v.signer), ['k0', 'k1']);
  });
  it('is trusted on a conflict-free pending image only once M agree', () => {
    const of = verdictsFrom([envelopeBytes(a, { digest: D }), envelopeBytes(c, { digest: D })]);
    assert.equal(decideManifest([entry('core-busybox', D)], of, policy).trusted, true);
  });
});

describe('decideManifest with signers mixing attestations and StageX OpenPGP signatures (DESIGN section 5)', () => {
  const [a, b, c] = keys as [typeof keys[0], typeof keys[0], typeof keys[0]];
  const FA1 = 'a1'.repeat(20);
  const FA2 = 'a2'.repeat(20);
  const FD = 'dd'.repeat(20);
  const FE = 'ee'.repeat(20);
  const FF = 'ff'.repeat(20);
  /** alice has an ed25519 key and two OpenPGP keys; dave and erin only OpenPGP keys; erin's is revoked. */
  const mixed = compileTrust({
    threshold: 3,
    keys: [
      { name: 'alice', publicKey: a.publicKey, openpgp: [FA1, FA2.toUpperCase()] },
      { name: 'bob', publicKey: b.publicKey },
      { name: 'carol', publicKey: c.publicKey },
      { name: 'dave', openpgp: [FD] },
      { name: 'erin', openpgp: [FE] },
    ],
    revoked: [FE],
  });
  const D = hex64('canonical');
  const E = hex64('stagex digest');
  const image = 'core-busybox';
  const entries = [{ image, digest: E, where: 'core.txt:1' }];
  const pgp = (fingerprint: string, digest = E, forImage = image): OpenpgpVote => ({ image: forImage, digest, fingerprint, file: hex64(`${fingerprint} ${digest}`), created: '2026-12-01T00:00:00.000Z' });
  const evidence = (envelopes: Uint8Array[], openpgp: OpenpgpVote[]) => {
    const verdicts = decide(envelopes.flatMap((bytes) => readAttestation(bytes, mixed, 'test').votes), mixed);
    return (of: string) => ({ verdicts: verdicts.filter((v) => v.identity.image === of), openpgp: openpgp.filter((v) => v.image === of) });
  };
  const only = (v: ReturnType<typeof decideManifest>) => v.entries[0]!;
  const engine = (k: typeof a, extra: Partial<Parameters<typeof envelopeBytes>[1]> = {}) => envelopeBytes(k, { digest: D, engineDigest: E, ...extra });

  describe('when M - 1 signers vouched', () => {
    it('is pending with k = M - 1', () => {
      const e = only(decideManifest(entries, evidence([engine(a)], [pgp(FD)]), mixed));
      assert.deepEqual([e.holds, !e.holds && e.reason, !e.holds && e.reason === 'pending' && e.count], [false, 'pending', 2]);
    });
  });
  describe('when signers mix', () => {
    it('two reproducers\' attestations and one maintainer\'s card signature are three', () => {
      const e = only(decideManifest(entries, evidence([engine(a), engine(b)], [pgp(FD)]), mixed));
      assert.equal(e.holds && e.via, 'vouched');
      assert.deepEqual(e.vouchers, [{ signer: 'alice', via: ['attestation'] }, { signer: 'bob', via: ['attestation'] }, { signer: 'dave', via: ['openpgp'] }]);
    });
    it('one attestation and OpenPGP signatures of two more signers are three', () => {
      assert.equal(only(decideManifest(entries, evidence([engine(c)], [pgp(FA1), pgp(FD)]), mixed)).holds, true);
    });
  });
  describe('when one signer vouched with several keys', () => {
    it('counts it once: an attestation and signatures by both its OpenPGP keys are one vote', () => {
      const e = only(decideManifest(entries, evidence([engine(a)], [pgp(FA1), pgp(FA2), pgp(FD)]), mixed));
      assert.deepEqual([e.holds, !e.holds && e.reason === 'pending' && e.count], [false, 2]);
      assert.deepEqual(e.vouchers.find((v) => v.signer === 'alice'), { signer: 'alice', via: ['attestation', 'openpgp'] });
    });
    it('counts two signature files of one key once', () => {
      const again = { ...pgp(FD), file: hex64('second file') };
      assert.equal(only(decideManifest(entries, evidence([engine(a)], [pgp(FD), again]), mixed)).vouchers.length, 2);
    });
  });
  describe('when a key is revoked or unknown', () => {
    it('a revoked fingerprint does not count', () => {
      assert.equal(only(decideManifest(entries, evidence([engine(a), engine(b)], [pgp(FE)]), mixed)).holds, false);
    });
    it('a fingerprint no signer lists does not count', () => {
      assert.equal(only(decideManifest(entries, evidence([engine(a), engine(b)], [pgp(FF)]), mixed)).holds, false);
    });
    it('an attestation by a revoked ed25519 key does not count', () => {
      const revokedB = compileTrust({ threshold: 3, keys: [{ name: 'alice', publicKey: a.publicKey }, { name: 'bob', publicKey: b.publicKey }, { name: 'carol', publicKey: c.publicKey }, { name: 'dave', openpgp: [FD] }], revoked: [b.keyid] });
      const verdicts = decide([engine(a), engine(b)].flatMap((bytes) => readAttestation(bytes, revokedB, 'test').votes), revokedB);
      const e = only(decideManifest(entries, () => ({ verdicts, openpgp: [pgp(FD)] }), revokedB));
      assert.deepEqual(e.vouchers.map((v) => v.signer), ['alice', 'dave']);
      assert.equal(e.holds, false);
    });
  });
  describe('when a signature is over another digest or image', () => {
    it('does not count for this entry', () => {
      const e = only(decideManifest(entries, evidence([engine(a), engine(b)], [pgp(FD, hex64('other')), pgp(FA1, E, 'core-gcc')]), mixed));
      assert.deepEqual(e.vouchers.map((v) => v.signer), ['alice', 'bob']);
    });
  });
  describe('when an attestation vote is void', () => {
    it('an equivocating key\'s recorded engine digest does not count', () => {
      const e = only(decideManifest(entries, evidence([engine(a), engine(a, { digest: hex64('second') }), engine(b)], [pgp(FD)]), mixed));
      assert.deepEqual(e.holds, false);
    });
  });
  describe('when an identity of the image is in conflict', () => {
    it('blocks the entry whatever vouched for it', () => {
      const disputed = [engine(a), engine(b), envelopeBytes(c, { digest: hex64('another canonical') })];
      const e = only(decideManifest(entries, evidence(disputed, [pgp(FD)]), mixed));
      assert.deepEqual([e.holds, !e.holds && e.reason], [false, 'conflict']);
      assert.equal(e.vouchers.length, 3);
    });
  });
  describe('when only StageX signatures exist', () => {
    it('holds with M signers and is pending below', () => {
      const three = compileTrust({ threshold: 2, keys: [{ name: 'dave', openpgp: [FD] }, { name: 'alice', openpgp: [FA1] }] });
      assert.equal(only(decideManifest(entries, () => ({ verdicts: [], openpgp: [pgp(FD), pgp(FA1)] }), three)).holds, true);
      const e = only(decideManifest(entries, () => ({ verdicts: [], openpgp: [pgp(FD)] }), three));
      assert.deepEqual([!e.holds && e.reason, !e.holds && e.reason === 'pending' && e.count], ['pending', 1]);
    });
  });
  describe('when the manifest is empty', () => {
    it('is an error, never trusted', async () => {
      assert.throws(() => decideManifest([], () => ({ verdicts: [], openpgp: [] }), mixed), { code: 'BAD_MANIFEST' });
      const file = join(tempDir('stagex-manifest'), 'core.txt');
      writeFileSync(file, '\n');
      await assert.rejects(readManifest(file), { code: 'BAD_MANIFEST' });
    });
  });
  describe('agreedEngineDigests', () => {
    it('lists engine digests M signers recorded through attestations, OpenPGP signatures aside', () => {
      const verdicts = decide([engine(a), engine(b), engine(c), envelopeBytes(a, { image: 'core-gcc', digest: D, engineDigest: E })].flatMap((bytes) => readAttestation(bytes, mixed, 'test').votes), mixed);
      assert.deepEqual(agreedEngineDigests(verdicts, mixed), [{ image, digest: E, signers: ['alice', 'bob', 'carol'] }]);
    });
    it('leaves out an image in conflict', () => {
      const verdicts = decide([engine(a), engine(b), engine(c), envelopeBytes(c, { digest: hex64('x'), inputDigest: hex64('other input') }), envelopeBytes(b, { digest: hex64('y'), inputDigest: hex64('other input') })].flatMap((bytes) => readAttestation(bytes, mixed, 'test').votes), mixed);
      assert.deepEqual(agreedEngineDigests(verdicts, mixed), []);
    });
  });
});

describe('the real StageX 2025.10.0 release manifest', { skip: skipWithoutTree }, () => {
  it('parses all 433 entries of digests/*.txt', async () => {
    const entries = await readManifest(STAGEX_DIGESTS);
    assert.equal(entries.length, 433);
    assert.equal(new Set(entries.map((e) => e.image)).size, 433);
    assert.ok(readFileSync(`${STAGEX_DIGESTS}/core.txt`, 'utf8').includes(`${entries.find((e) => e.image === 'core-gcc')!.digest} core-gcc`));
  });
  it('is trusted, pending or conflict as the votes say', async () => {
    const entries = await readManifest(STAGEX_DIGESTS);
    const [a, b, c] = keys as [typeof keys[0], typeof keys[0], typeof keys[0]];
    const vote = (k: typeof a, e: ManifestEntry, digest = e.digest) => envelopeBytes(k, { image: e.image, package: e.image, digest, inputDigest: hex64(e.image) });
    const all = entries.flatMap((e) => [vote(a, e), vote(b, e)]);
    assert.equal(decideManifest(entries, verdictsFrom(all), policy).trusted, true);

    const [first, second, third] = entries as [ManifestEntry, ManifestEntry, ManifestEntry];
    const fewer = all.filter((_, i) => i !== 1);
    const disputed = [...all, vote(c, second, hex64('other'))];
    const pendingVerdict = decideManifest(entries, verdictsFrom(fewer), policy);
    assert.deepEqual(pendingVerdict.failing.map((f) => [f.image, !f.holds && f.reason]), [[first.image, 'pending']]);
    const conflictVerdict = decideManifest(entries, verdictsFrom(disputed), policy);
    assert.deepEqual(conflictVerdict.failing.map((f) => [f.image, !f.holds && f.reason]), [[second.image, 'conflict']]);
    const wrong = entries.map((e) => (e === third ? { ...e, digest: hex64('tampered') } : e));
    assert.deepEqual(decideManifest(wrong, verdictsFrom(all), policy).failing.map((f) => [f.image, !f.holds && f.reason]), [[third.image, 'digest-differs']]);
  });
});
