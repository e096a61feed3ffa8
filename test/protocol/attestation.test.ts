import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readAttestation, readGossipAttestation } from '../../protocol/attestation.ts';
import { codeOf } from '../helpers/code-of.ts';
import { countingPolicy, envelopeBytes, policyOf, reshaped, signer, signers } from '../helpers/fixtures.ts';

const keys = signers(2);
const [a, b] = keys as [typeof keys[0], typeof keys[0]];
const trust = policyOf(2, keys);
const single = envelopeBytes(a);

describe('readAttestation', () => {
  it('returns the canonical bytes and their hash, whatever unsigned form arrived', () => {
    const canonical = readAttestation(single, trust, 'test');
    assert.deepEqual(canonical.bytes, single);
    const padded = readAttestation(reshaped(single, (e) => ({ extra: [1], ...e, payload: e.payload.replace(/=+$/, '') })), trust, 'test');
    assert.equal(padded.hash, canonical.hash);
    assert.equal(padded.votes[0]!.envelope, canonical.hash);
  });
  it('refuses a keyless signature as MISSING_KEYID before any verification', () => {
    const { policy, calls } = countingPolicy(trust);
    const keyless = reshaped(envelopeBytes([a, b]), (e) => ({ ...e, signatures: [e.signatures[0], { sig: e.signatures[1]!.sig }] }));
    assert.equal(codeOf(() => readAttestation(keyless, policy, 'test')), 'MISSING_KEYID');
    assert.equal(calls(), 0);
  });
});

describe('readGossipAttestation', () => {
  it('accepts a canonical envelope with one signature by a known key, with one verification', () => {
    const { policy, calls } = countingPolicy(trust);
    assert.deepEqual(readGossipAttestation(single, policy, 'test').bytes, single);
    assert.equal(calls(), 1);
  });
  for (const [name, bytes, code] of [
    ['an unknown keyid', envelopeBytes(signer(7)), 'UNKNOWN_SIGNER'],
    ['a signature without keyid', reshaped(single, (e) => ({ ...e, signatures: [{ sig: e.signatures[0]!.sig }] })), 'MISSING_KEYID'],
    ['two signatures, even valid ones', envelopeBytes([a, b]), 'NOT_ONE_SIGNATURE'],
    ['an unknown field', reshaped(single, (e) => ({ ...e, note: 'x' })), 'NOT_CANONICAL'],
    ['unpadded base64', reshaped(single, (e) => ({ ...e, payload: e.payload.replace(/=+$/, '') })), 'NOT_CANONICAL'],
    ['fields in another order', reshaped(single, (e) => ({ signatures: e.signatures, payloadType: e.payloadType, payload: e.payload })), 'NOT_CANONICAL'],
  ] as const) {
    it(`refuses ${name} as ${code} without any verification`, () => {
      const { policy, calls } = countingPolicy(trust);
      assert.equal(codeOf(() => readGossipAttestation(bytes, policy, 'test')), code);
      assert.equal(calls(), 0);
    });
  }
});
