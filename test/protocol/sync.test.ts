import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { BucketSummary, bucketGroups, decodeFrame, encodeFrame, FrameType, MAX_ERROR_CHARS, MAX_REQUEST_HASHES, type Frame } from '../../protocol/sync.ts';
import { MAX_ENVELOPE_BYTES } from '../../protocol/dsse.ts';
import { SyncFrame } from '../../protocol/pb/sync.js';

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
      { type: FrameType.error, message: 'banned for misbehaviour' },
    ];
    for (const frame of frames) {
      const decoded = decodeFrame(encodeFrame(frame));
      assert.equal(decoded.type, frame.type);
      assert.deepEqual(encodeFrame(decoded), encodeFrame(frame));
    }
  });
  it('are the protobuf SyncFrame of protocol/sync.proto, byte for byte', () => {
    assert.deepEqual([...encodeFrame({ type: FrameType.end })], [0x0a, 0x00]);
    assert.deepEqual([...encodeFrame({ type: FrameType.hashesRequest, buckets: [0, 7, 255] })], [0x22, 0x05, 0x0a, 0x03, 0, 7, 255]);
    assert.deepEqual([...encodeFrame({ type: FrameType.envelopesRequest, ids: [Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)] })], [0x32, 0x0a, 0x0a, 0x08, 1, 2, 3, 4, 5, 6, 7, 8]);
  });
  const ids = (count: number) => new Uint8Array(count * 8);
  const xors = new Uint8Array(256 * 32);
  for (const [name, bytes] of [
    ['an empty frame', new Uint8Array(0)],
    ['bytes that are not protobuf', Uint8Array.of(0xff, 0xff, 0xff)],
    ['a frame with a field of the wrong wire type', Uint8Array.of(0x08, 0x01)],
    ['a frame with only an unknown field', Uint8Array.of(0x48, 0x01)],
    ['a frame with two fields', Uint8Array.from([...SyncFrame.encode({ end: {} }), ...SyncFrame.encode({ summaryRequest: {} })])],
    ['a summary of too few counts', SyncFrame.encode({ summary: { counts: [1, 2], xors } })],
    ['a summary of too many counts', SyncFrame.encode({ summary: { counts: Array.from({ length: 257 }, () => 1), xors } })],
    ['a summary of the wrong XOR size', SyncFrame.encode({ summary: { counts: Array.from({ length: 256 }, () => 1), xors: new Uint8Array(31) } })],
    ['ids that are not whole', SyncFrame.encode({ hashes: { ids: Uint8Array.of(1, 2, 3) } })],
    ['a hash list frame with no id', SyncFrame.encode({ hashes: { ids: ids(0) } })],
    ['repeated buckets', SyncFrame.encode({ hashesRequest: { buckets: Uint8Array.of(3, 3) } })],
    ['no buckets', SyncFrame.encode({ hashesRequest: { buckets: new Uint8Array(0) } })],
    ['an empty envelope entry', SyncFrame.encode({ envelopes: { envelopes: [new Uint8Array(0)] } })],
    ['an envelope over the size limit', SyncFrame.encode({ envelopes: { envelopes: [new Uint8Array(MAX_ENVELOPE_BYTES + 1)] } })],
    ['more envelopes than a request may ask for', SyncFrame.encode({ envelopes: { envelopes: Array.from({ length: MAX_REQUEST_HASHES + 1 }, () => Uint8Array.of(1)) } })],
    ['an envelopes frame with none', SyncFrame.encode({ envelopes: { envelopes: [] } })],
    ['too many ids in a request', SyncFrame.encode({ envelopesRequest: { ids: ids(MAX_REQUEST_HASHES + 1) } })],
    ['an overlong refusal', SyncFrame.encode({ error: { message: 'x'.repeat(MAX_ERROR_CHARS + 1) } })],
    ['a frame over 1 MiB', SyncFrame.encode({ hashes: { ids: ids(131_072) } })],
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
