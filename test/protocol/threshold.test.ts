import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readAttestation, type Vote } from '../../protocol/attestation.ts';
import { parseEnvelope, encodeEnvelope } from '../../protocol/dsse.ts';
import { decide, type Verdict } from '../../protocol/threshold.ts';
import type { TrustPolicy } from '../../protocol/trust.ts';
import { compileTrust } from '../../protocol/trust.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { envelopeBytes, hex64, policyOf, signer, signers } from '../helpers/fixtures.ts';

const D1 = hex64('digest one');
const D2 = hex64('digest two');

/** Envelopes -> pipeline -> votes -> verdicts; envelopes the pipeline refuses cast no vote. */
function verdicts(envelopes: readonly Uint8Array[], policy: TrustPolicy): Verdict[] {
  const votes: Vote[] = [];
  for (const bytes of envelopes) {
    try {
      votes.push(...readAttestation(bytes, policy, 'test').votes);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
    }
  }
  return decide(votes, policy);
}

function only(envelopes: readonly Uint8Array[], policy: TrustPolicy): Verdict {
  const all = verdicts(envelopes, policy);
  assert.equal(all.length, 1, `expected one identity, got ${all.length}`);
  return all[0]!;
}

const keys = signers(5);
const [a, b, c, d, e] = keys as [typeof keys[0], typeof keys[0], typeof keys[0], typeof keys[0], typeof keys[0]];

describe('decide', () => {
  describe('when M = 1', () => {
    it('one trusted vote makes the identity trusted', () => {
      const v = only([envelopeBytes(a, { digest: D1 })], policyOf(1, keys));
      assert.equal(v.status, 'trusted');
      assert.equal(v.digest, D1);
      assert.deepEqual(v.digests[0]!.keyids, [a.keyid]);
    });
  });

  describe('when M = N', () => {
    const policy = policyOf(5, keys);
    it('N - 1 votes are pending N-1 of N', () => {
      const v = only(keys.slice(0, 4).map((k) => envelopeBytes(k, { digest: D1 })), policy);
      assert.equal(v.status, 'pending');
      assert.equal(v.count, 4);
      assert.equal(v.threshold, 5);
    });
    it('N votes are trusted', () => {
      assert.equal(only(keys.map((k) => envelopeBytes(k, { digest: D1 })), policy).status, 'trusted');
    });
  });

  describe('when M - 1 keys agree', () => {
    it('stays pending with k = M - 1', () => {
      const v = only([a, b].map((k) => envelopeBytes(k, { digest: D1 })), policyOf(3, keys));
      assert.deepEqual([v.status, v.count], ['pending', 2]);
    });
  });

  describe('when the config lists one key twice', () => {
    it('counts it once and N is the distinct keys', () => {
      const policy = compileTrust({ threshold: 2, keys: [{ name: 'a', publicKey: a.publicKey }, { name: 'a-again', publicKey: a.publicKey }, { name: 'b', publicKey: b.publicKey }] });
      assert.equal(policy.voters.size, 2);
      assert.equal(only([envelopeBytes(a, { digest: D1 }), envelopeBytes(a, { digest: D1, builderId: 'other run' })], policy).status, 'pending');
      assert.throws(() => compileTrust({ threshold: 3, keys: [{ name: 'a', publicKey: a.publicKey }, { name: 'a-again', publicKey: a.publicKey }, { name: 'b', publicKey: b.publicKey }] }), { code: 'BAD_TRUST_POLICY' });
    });
  });

  describe('when two keyids alias one public key', () => {
    it('counts the key once whatever keyid strings its signatures carry; a keyid that names no key is no vote', () => {
      const policy = policyOf(2, keys);
      const aliased = parseEnvelope(envelopeBytes(a, { digest: D1, builderId: 'second run' }), 'test');
      const [signature] = aliased.signatures;
      aliased.signatures = [{ keyid: a.keyid.toUpperCase(), sig: signature!.sig }];
      assert.throws(() => readAttestation(encodeEnvelope(aliased), policy, 'test'), { code: 'UNKNOWN_SIGNER' });
      aliased.signatures.push(signature!);
      const v = only([envelopeBytes(a, { digest: D1 }), encodeEnvelope(aliased)], policy);
      assert.deepEqual([v.status, v.count], ['pending', 1]);
    });
  });

  describe('when the same envelope arrives twice', () => {
    it('counts once', () => {
      const bytes = envelopeBytes(a, { digest: D1 });
      assert.equal(only([bytes, bytes], policyOf(2, keys)).count, 1);
    });
  });

  describe('when a key is revoked', () => {
    it('its vote does not count', () => {
      const policy = policyOf(2, keys, { revoked: [b.keyid] });
      assert.equal(only([a, b].map((k) => envelopeBytes(k, { digest: D1 })), policy).status, 'pending');
      assert.equal(only([a, c].map((k) => envelopeBytes(k, { digest: D1 })), policy).status, 'trusted');
    });
    it('a revoked key named by its public key hex is revoked too', () => {
      const policy = policyOf(2, keys, { revoked: [Buffer.from(b.publicKey).toString('hex')] });
      assert.equal(policy.voters.has(b.keyid), false);
    });
  });

  describe('when an untrusted key votes', () => {
    it('its envelope is refused by the pipeline and casts no vote', () => {
      const stranger = signer(99);
      assert.equal(verdicts([envelopeBytes(stranger, { digest: D1 })], policyOf(1, keys)).length, 0);
    });
    it('a known but untrusted key (our own) is verified but does not vote', () => {
      const own = signer(98);
      const policy = policyOf(1, keys, { extraKnown: [own] });
      assert.equal(readAttestation(envelopeBytes(own, { digest: D1 }), policy, 'test').votes.length, 1);
      assert.equal(verdicts([envelopeBytes(own, { digest: D1 })], policy).length, 0);
    });
  });

  describe('when a key signs two different digests for one identity', () => {
    it('is equivocating: all its votes for that identity are void, and it is reported', () => {
      const v = only([envelopeBytes(a, { digest: D1 }), envelopeBytes(a, { digest: D2 }), envelopeBytes(b, { digest: D1 })], policyOf(2, keys));
      assert.deepEqual(v.equivocating, [{ keyid: a.keyid, digests: [D1, D2].sort() }]);
      assert.deepEqual([v.status, v.count], ['pending', 1]);
    });
    it('does not affect its votes for another identity', () => {
      const all = verdicts([
        envelopeBytes(a, { digest: D1 }), envelopeBytes(a, { digest: D2 }),
        envelopeBytes(a, { image: 'core-gcc', digest: D1 }),
      ], policyOf(1, keys));
      assert.deepEqual(all.map((v) => [v.identity.image, v.status]), [['core-busybox', 'pending'], ['core-gcc', 'trusted']]);
    });
  });

  describe('when two digests have trusted votes', () => {
    it('is a conflict whatever the counts, with who said what', () => {
      const v = only([a, b, c].map((k) => envelopeBytes(k, { digest: D1 })).concat(envelopeBytes(d, { digest: D2 })), policyOf(2, keys));
      assert.equal(v.status, 'conflict');
      assert.equal(v.digest, undefined);
      assert.deepEqual(v.digests.map((x) => [x.digest, x.keyids.length]), [[D1, 3], [D2, 1]]);
    });
  });

  describe('when a signature covers a different payload', () => {
    it('the envelope casts no vote', () => {
      const good = parseEnvelope(envelopeBytes(a, { digest: D1 }), 'test');
      const other = parseEnvelope(envelopeBytes(a, { digest: D2 }), 'test');
      const spliced = encodeEnvelope({ ...good, signatures: other.signatures });
      assert.equal(verdicts([spliced], policyOf(1, keys)).length, 0);
    });
  });

  describe('identities', () => {
    it('separates platforms and input digests of one image', () => {
      const all = verdicts([
        envelopeBytes(a, { platform: 'linux/amd64' }),
        envelopeBytes(a, { platform: 'linux/arm64' }),
        envelopeBytes(a, { inputDigest: hex64('other input') }),
      ], policyOf(1, keys));
      assert.equal(all.length, 3);
    });
    it('records engine digests per voter of a digest', () => {
      const v = only([envelopeBytes(a, { engineDigest: D2 }), envelopeBytes(b, { engineDigest: D2 }), envelopeBytes(c)], policyOf(3, keys));
      assert.deepEqual(v.digests[0]!.engineDigests, { [D2]: [a.keyid, b.keyid].sort() });
    });
  });

  describe('property: votes that must not count never raise a count', () => {
    const trustedKeys = keys.slice(0, 4);
    const revoked = e;
    const strangers = [signer(50), signer(51)];
    const policy = policyOf(3, [...trustedKeys, revoked], { revoked: [revoked.keyid] });
    const honest = [a, b].map((k) => envelopeBytes(k, { digest: D1 }));
    const base = only(honest, policy);
    // Noise: untrusted and revoked keys on any digest, repeats of honest envelopes, and a
    // key that equivocates (c signs both digests).
    const noisePool = [
      ...strangers.flatMap((k) => [envelopeBytes(k, { digest: D1 }), envelopeBytes(k, { digest: D2 })]),
      envelopeBytes(revoked, { digest: D1 }), envelopeBytes(revoked, { digest: D2 }),
      ...honest,
      envelopeBytes(a, { digest: D1, builderId: 'rebuild' }),
    ];
    const equivocation = [envelopeBytes(c, { digest: D1 }), envelopeBytes(c, { digest: D2 })];

    it('holds for any multiset of such envelopes', () => {
      fc.assert(fc.property(
        fc.array(fc.constantFrom(...noisePool), { maxLength: 20 }),
        fc.boolean(),
        (noise, withEquivocation) => {
          const v = only([...honest, ...noise, ...(withEquivocation ? equivocation : [])], policy);
          assert.equal(v.count, base.count);
          assert.equal(v.status, 'pending');
          assert.deepEqual(v.digests.map((x) => x.digest), [D1]);
        },
      ), { numRuns: 200 });
    });
  });
});
