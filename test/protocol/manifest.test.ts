import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decideManifest, parseManifest, type ManifestEntry } from '../../protocol/manifest.ts';
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
  return (image: string) => verdicts.filter((v) => v.identity.image === image);
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

  it('holds at the trusted canonical digest', () => {
    const of = verdictsFrom([envelopeBytes(a, { digest: D }), envelopeBytes(b, { digest: D })]);
    const v = decideManifest([entry('core-busybox', D)], of);
    assert.equal(v.trusted, true);
    assert.deepEqual(v.entries.map((e) => e.holds && e.via), ['canonical']);
  });
  it('holds at an engine digest recorded by at least M of the agreeing voters', () => {
    const of = verdictsFrom([envelopeBytes(a, { digest: D, engineDigest: E }), envelopeBytes(b, { digest: D, engineDigest: E })]);
    assert.deepEqual(decideManifest([entry('core-busybox', E)], of).entries.map((e) => e.holds && e.via), ['engine']);
  });
  it('does not hold at an engine digest fewer than M voters recorded', () => {
    const of = verdictsFrom([envelopeBytes(a, { digest: D, engineDigest: E }), envelopeBytes(b, { digest: D })]);
    const v = decideManifest([entry('core-busybox', E)], of);
    assert.deepEqual(v.failing.map((e) => !e.holds && e.reason), ['digest-differs']);
  });
  it('lists every failing entry with its reason', () => {
    const of = verdictsFrom([
      envelopeBytes(a, { digest: D }),
      envelopeBytes(a, { image: 'core-gcc', digest: D }), envelopeBytes(b, { image: 'core-gcc', digest: E }),
    ]);
    const v = decideManifest([entry('core-busybox', D), entry('core-gcc', D), entry('core-zlib', D)], of);
    assert.equal(v.trusted, false);
    assert.deepEqual(v.failing.map((e) => [e.image, !e.holds && e.reason]), [['core-busybox', 'pending'], ['core-gcc', 'conflict'], ['core-zlib', 'unknown']]);
  });
  it('is trusted on a conflict-free pending image only once M agree', () => {
    const of = verdictsFrom([envelopeBytes(a, { digest: D }), envelopeBytes(c, { digest: D })]);
    assert.equal(decideManifest([entry('core-busybox', D)], of).trusted, true);
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
    assert.equal(decideManifest(entries, verdictsFrom(all)).trusted, true);

    const [first, second, third] = entries as [ManifestEntry, ManifestEntry, ManifestEntry];
    const fewer = all.filter((_, i) => i !== 1);
    const disputed = [...all, vote(c, second, hex64('other'))];
    const pendingVerdict = decideManifest(entries, verdictsFrom(fewer));
    assert.deepEqual(pendingVerdict.failing.map((f) => [f.image, !f.holds && f.reason]), [[first.image, 'pending']]);
    const conflictVerdict = decideManifest(entries, verdictsFrom(disputed));
    assert.deepEqual(conflictVerdict.failing.map((f) => [f.image, !f.holds && f.reason]), [[second.image, 'conflict']]);
    const wrong = entries.map((e) => (e === third ? { ...e, digest: hex64('tampered') } : e));
    assert.deepEqual(decideManifest(wrong, verdictsFrom(all)).failing.map((f) => [f.image, !f.holds && f.reason]), [[third.image, 'digest-differs']]);
  });
});
