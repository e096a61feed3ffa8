import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileTrust } from '../../protocol/trust.ts';
import { signers } from '../helpers/fixtures.ts';

const [a, b] = signers(2) as [ReturnType<typeof signers>[0], ReturnType<typeof signers>[0]];
const FA = 'A1'.repeat(20);
const FB = 'b2'.repeat(20);

describe('compileTrust with signers (DESIGN section 5)', () => {
  describe('when a signer has an ed25519 key and OpenPGP keys', () => {
    it('is one signer: N counts signers, not keys', () => {
      const policy = compileTrust({ threshold: 2, keys: [{ name: 'alice', publicKey: a.publicKey, openpgp: [FA, FB] }, { name: 'bob', publicKey: b.publicKey }] });
      assert.deepEqual([...policy.signers].sort(), ['alice', 'bob']);
      assert.deepEqual([...policy.openpgpVoters], [[FA.toLowerCase(), 'alice'], [FB, 'alice']]);
      assert.throws(() => compileTrust({ threshold: 3, keys: [{ name: 'alice', publicKey: a.publicKey, openpgp: [FA, FB] }, { name: 'bob', publicKey: b.publicKey }] }), { code: 'BAD_TRUST_POLICY' });
    });
  });
  describe('when a signer has only OpenPGP keys', () => {
    it('counts toward N without voting on canonical digests', () => {
      const policy = compileTrust({ threshold: 2, keys: [{ name: 'alice', publicKey: a.publicKey }, { name: 'lance', openpgp: [FA] }] });
      assert.deepEqual([policy.signers.size, policy.voters.size], [2, 1]);
    });
  });
  describe('when keys are revoked', () => {
    it('a revoked fingerprint does not vote, and a signer with every key revoked leaves N', () => {
      const policy = compileTrust({ threshold: 1, keys: [{ name: 'alice', publicKey: a.publicKey, openpgp: [FA] }, { name: 'lance', openpgp: [FB] }], revoked: [FA.toLowerCase(), FB.toUpperCase()] });
      assert.deepEqual([[...policy.openpgpVoters], [...policy.signers]], [[], ['alice']]);
      assert.throws(() => compileTrust({ threshold: 2, keys: [{ name: 'alice', publicKey: a.publicKey }, { name: 'lance', openpgp: [FB] }], revoked: [FB] }), { code: 'BAD_TRUST_POLICY' });
    });
  });
  describe('when the signers are ambiguous', () => {
    it('refuses two signers of one name, a fingerprint listed twice, a signer without keys, a malformed fingerprint', () => {
      for (const keys of [
        [{ name: 'x', publicKey: a.publicKey }, { name: 'x', publicKey: b.publicKey }],
        [{ name: 'x', openpgp: [FA] }, { name: 'y', openpgp: [FA.toLowerCase()] }],
        [{ name: 'x', publicKey: a.publicKey }, { name: 'y' }],
        [{ name: 'x', openpgp: ['E90A401336C8AAA9'] }],
      ]) {
        assert.throws(() => compileTrust({ threshold: 1, keys }), { code: 'BAD_TRUST_POLICY' }, JSON.stringify(keys.map((k) => k.name)));
      }
    });
  });
});
