import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkSeeds, gate, parsePins, pinFor, QUORUM } from '../../protocol/bootstrap.ts';
import type { Verdict } from '../../protocol/threshold.ts';
import { ProtocolError } from '../../protocol/errors.ts';

const D1 = '1'.repeat(64);
const D2 = '2'.repeat(64);
const HEX0 = 'f74dcf9cef2aee9eb7723eca755849d474fccd89662947021d1aa08429d23c13';
const identity = { image: 'bootstrap-stage0', platform: 'linux/386', inputDigest: 'a'.repeat(64) };

function verdict(status: Verdict['status'], digests: { digest: string; keys: number }[]): Verdict {
  return {
    identity,
    status,
    ...(status === 'trusted' ? { digest: digests[0]!.digest } : {}),
    count: Math.max(0, ...digests.map((d) => d.keys)),
    threshold: 3,
    digests: digests.map((d) => ({ digest: d.digest, keyids: Array.from({ length: d.keys }, (_, i) => String(i)), engineDigests: {} })),
    equivocating: [],
  };
}

describe('parsePins', () => {
  it('reads seeds and digests; comments are dropped and the digest defaults to quorum', () => {
    const pins = parsePins({ '//': 'comment', stages: { 'bootstrap-stage0': { seeds: { 'hex0-seed': HEX0 } }, 'bootstrap-stage1': { digest: D1 } } }, 'pins.json');
    assert.deepEqual(pins.get('bootstrap-stage0'), { seeds: { 'hex0-seed': HEX0 }, digest: QUORUM });
    assert.deepEqual(pins.get('bootstrap-stage1'), { seeds: {}, digest: D1 });
    assert.deepEqual(pinFor(pins, 'bootstrap-stage3'), { seeds: {}, digest: QUORUM });
  });

  it('refuses a bad document, naming every problem with its path and value', () => {
    assert.throws(() => parsePins({ stages: { 'bootstrap-stage0': { digest: 'sha256:abc', extra: 1 }, nope: {} } }, 'pins.json'), (error: ProtocolError) => {
      assert.equal(error.code, 'BAD_PINS');
      assert.match(error.message, /^pins\.json: 3 problem/);
      assert.match(error.message, /stages\.bootstrap-stage0\.digest: .*got "sha256:abc"/);
      assert.match(error.message, /extra/);
      assert.match(error.message, /nope/);
      return true;
    });
  });
});

describe('checkSeeds', () => {
  const pin = { seeds: { 'hex0-seed': HEX0 }, digest: QUORUM };
  it('passes a seed file of the package directory with the pinned sha256', () => {
    assert.deepEqual(checkSeeds({ id: 'bootstrap-stage0', files: { 'hex0-seed': HEX0 }, sources: [] }, pin), []);
  });

  it('passes a seed that is a source file with the pinned hash', () => {
    const source = { id: 'seed', hash: HEX0, version: null, format: '', file: 'hex0-seed', mirrors: ['http://127.0.0.1/x'], gitSha: null };
    assert.deepEqual(checkSeeds({ id: 'bootstrap-stage0', files: {}, sources: [source] }, pin), []);
  });

  it('names a changed seed with both hashes, and a missing one', () => {
    assert.deepEqual(checkSeeds({ id: 'bootstrap-stage0', files: { 'hex0-seed': D1 } , sources: [] }, pin), [`bootstrap-stage0: seed hex0-seed has sha256 ${D1}, expected the pinned ${HEX0}`]);
    assert.match(checkSeeds({ id: 'bootstrap-stage0', files: {}, sources: [] }, pin)[0]!, /expected the pinned seed hex0-seed .* got none/);
  });
});

describe('gate', () => {
  it('an exact pin passes its digest and refuses any other', () => {
    assert.deepEqual(gate('bootstrap-stage0', { seeds: {}, digest: D1 }, D1, undefined), { status: 'pass' });
    const refused = gate('bootstrap-stage0', { seeds: {}, digest: D1 }, D2, verdict('trusted', [{ digest: D2, keys: 5 }]));
    assert.equal(refused.status, 'mismatch');
    assert.match((refused as { reason: string }).reason, new RegExp(`built ${D2}, expected the pinned ${D1}`));
  });

  it('a quorum pin passes when the trusted digest is the one built here', () => {
    assert.deepEqual(gate('bootstrap-stage0', pinFor(new Map(), 'bootstrap-stage0'), D1, verdict('trusted', [{ digest: D1, keys: 3 }])), { status: 'pass' });
  });

  it('a quorum pin waits while fewer than M agree, saying how many', () => {
    const waiting = gate('bootstrap-stage0', { seeds: {}, digest: QUORUM }, D1, verdict('pending', [{ digest: D1, keys: 2 }]));
    assert.deepEqual(waiting, { status: 'pending', reason: `bootstrap-stage0: waiting for quorum on ${D1} (2 of 3 trusted keys)` });
    assert.equal(gate('bootstrap-stage0', { seeds: {}, digest: QUORUM }, D1, undefined).status, 'pending');
  });

  it('a quorum pin refuses when the keys trust another digest or disagree', () => {
    assert.equal(gate('bootstrap-stage0', { seeds: {}, digest: QUORUM }, D1, verdict('trusted', [{ digest: D2, keys: 3 }])).status, 'mismatch');
    const conflict = gate('bootstrap-stage0', { seeds: {}, digest: QUORUM }, D1, verdict('conflict', [{ digest: D1, keys: 2 }, { digest: D2, keys: 1 }]));
    assert.equal(conflict.status, 'mismatch');
    assert.match((conflict as { reason: string }).reason, /disagree/);
  });
});
