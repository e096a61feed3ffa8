/**
 * The flood test's gossip attacks (test/helpers/hostile-envelopes.ts) against the validation
 * pipeline, in process: what each costs and what it becomes. The same messages go over real
 * libp2p in test/daemon/flood.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readAttestation, readGossipAttestation } from '../../protocol/attestation.ts';
import { envelopeHash, parseEnvelope } from '../../protocol/dsse.ts';
import { codeOf } from '../helpers/code-of.ts';
import { countingPolicy, envelopeBytes, policyOf, signer, signers } from '../helpers/fixtures.ts';
import { forged, garbage, keyless, oversize, randomKeyid, variant } from '../helpers/hostile-envelopes.ts';

const trust = policyOf(2, signers(3));
const publicBytes = envelopeBytes(signer(0));
const envelope = parseEnvelope(publicBytes, 'public');
const canonical = readAttestation(publicBytes, trust, 'public').hash;
const N = 600;

describe('hostile gossip messages', () => {
  it('re-encodings: all distinct bytes, each Rejected on gossip before any verification, each the same canonical envelope by any other path', () => {
    const { policy, calls } = countingPolicy(trust);
    const variants = Array.from({ length: N }, (_, n) => variant(envelope, n));
    assert.equal(new Set(variants.map(envelopeHash)).size, N, 'every variant is a new message id');
    assert.ok(!variants.some((v) => envelopeHash(v) === canonical));
    for (const v of variants) assert.match(codeOf(() => readGossipAttestation(v, policy, 'gossip'))!, /^(NOT_CANONICAL|NOT_ONE_SIGNATURE)$/);
    assert.equal(calls(), 0, 'no verification spent on a re-encoding from gossip');
    for (const v of variants) assert.equal(readAttestation(v, trust, 'sync').hash, canonical, 'a re-encoding reduces to the canonical form');
  });

  it('keyless signatures (16 or 1) are Rejected without trying a key', () => {
    const { policy, calls } = countingPolicy(trust);
    for (let n = 0; n < 20; n++) assert.match(codeOf(() => readGossipAttestation(keyless(envelope, n), policy, 'gossip'))!, /^(MISSING_KEYID|NOT_ONE_SIGNATURE)$/);
    for (let n = 0; n < 20; n++) assert.equal(codeOf(() => readAttestation(keyless(envelope, n), policy, 'sync')), 'MISSING_KEYID');
    assert.equal(calls(), 0);
  });

  it('a forged signature under a trusted keyid costs one verification and is Rejected; under an unknown keyid it costs none and is Ignored', () => {
    const { policy, calls } = countingPolicy(trust);
    const keyid = envelope.signatures[0]!.keyid!;
    for (let n = 0; n < 20; n++) assert.equal(codeOf(() => readGossipAttestation(forged(envelope, keyid, n), policy, 'gossip')), 'BAD_SIGNATURE');
    assert.equal(calls(), 20);
    for (let n = 0; n < 20; n++) assert.equal(codeOf(() => readGossipAttestation(forged(envelope, randomKeyid(), n), policy, 'gossip')), 'UNKNOWN_SIGNER');
    assert.equal(calls(), 20);
  });

  it('oversize and garbage messages are Rejected before any verification', () => {
    const { policy, calls } = countingPolicy(trust);
    for (let n = 0; n < 10; n++) {
      assert.ok(oversize(envelope, n).length > 64 * 1024);
      assert.equal(codeOf(() => readGossipAttestation(oversize(envelope, n), policy, 'gossip')), 'BAD_ENVELOPE');
      assert.equal(codeOf(() => readGossipAttestation(garbage(n), policy, 'gossip')), 'BAD_ENVELOPE');
    }
    assert.equal(calls(), 0);
  });
});
