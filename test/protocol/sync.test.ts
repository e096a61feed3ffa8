import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { BucketSummary, bucketGroups, decodeFrame, encodeFrame, FrameType, MAX_REQUEST_HASHES, type Frame } from '../../protocol/sync.ts';

const hash = (label: string) => new Uint8Array(createHash('sha256').update(label).digest());
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
};

describe('BucketSummary', () => {
  it('is equal for equal sets in any order and differs only in the buckets that differ', () => {
    const a = new BucketSummary();
    const b = new BucketSummary();
    const hashes = Array.from({ length: 500 }, (_, i) => hash(`h${i}`));
    hashes.forEach((h) => a.add(h));
    [...hashes].reverse().forEach((h) => b.add(h));
    assert.deepEqual(a.differing(b), []);
    const extra = hash('extra');
    b.add(extra);
    assert.deepEqual(a.differing(b), [extra[0]]);
  });
});

describe('frames', () => {
  it('round-trip every frame type', () => {
    const summary = new BucketSummary();
    summary.add(hash('x'));
    const ids = [hash('a').subarray(0, 8), hash('b').subarray(0, 8)];
    const envelopes = [new TextEncoder().encode('{"a":1}'), new TextEncoder().encode('{"b":2}')];
    const frames: Frame[] = [
      { type: FrameType.end }, { type: FrameType.summaryRequest }, { type: FrameType.summary, summary },
      { type: FrameType.hashesRequest, buckets: [0, 7, 255] }, { type: FrameType.hashes, ids },
      { type: FrameType.envelopesRequest, ids }, { type: FrameType.envelopes, envelopes },
    ];
    for (const frame of frames) {
      const decoded = decodeFrame(encodeFrame(frame));
      assert.equal(decoded.type, frame.type);
      assert.deepEqual(encodeFrame(decoded), encodeFrame(frame));
    }
  });
  for (const [name, bytes] of [
    ['an empty frame', new Uint8Array(0)],
    ['an unknown type', Uint8Array.of(42)],
    ['a summary of the wrong size', Uint8Array.of(FrameType.summary, 1, 2)],
    ['ids that are not whole', Uint8Array.of(FrameType.hashes, 1, 2, 3)],
    ['repeated buckets', Uint8Array.of(FrameType.hashesRequest, 3, 3)],
    ['an envelope overrunning its frame', Uint8Array.of(FrameType.envelopes, 0, 0, 0, 9, 1)],
    ['an empty envelope entry', Uint8Array.of(FrameType.envelopes, 0, 0, 0, 0)],
    ['a body on an end frame', Uint8Array.of(FrameType.end, 1)],
    ['too many ids in a request', new Uint8Array(1 + (MAX_REQUEST_HASHES + 1) * 8).fill(FrameType.envelopesRequest, 0, 1)],
  ] as const) {
    it(`rejects ${name} with BAD_FRAME`, () => {
      assert.equal(codeOf(() => decodeFrame(bytes)), 'BAD_FRAME');
    });
  }
});

describe('bucketGroups', () => {
  it('packs buckets into requests of at most maxIds declared ids and skips a bucket above it alone', () => {
    const counts = new Uint32Array(256);
    [counts[1], counts[2], counts[3], counts[4], counts[5]] = [40, 50, 200, 20, 0];
    assert.deepEqual(bucketGroups([1, 2, 3, 4, 5], counts, 100), { groups: [[1, 2], [4, 5]], skipped: [3] });
  });
});
