/**
 * Sync frames (protocol/sync.ts) through `decodeFrame` and `encodeFrame` only, so the target
 * outlives a change of wire format: random bytes, valid frames of every type mutated, length
 * prefixes lying about sizes, truncated frames. A frame that decodes encodes to bytes that decode
 * to the same frame (protobuf admits several encodings of one message, so not always the same
 * bytes), and a valid frame's encoding decodes back to it.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BucketSummary, decodeFrame, encodeFrame, FrameType, type Frame } from '../../../protocol/sync.ts';
import { mutatedBytes, randomBytes, type FuzzTarget } from '../harness.ts';

const id = fc.uint8Array({ minLength: 8, maxLength: 8 });

const validFrame: fc.Arbitrary<Frame> = fc.oneof(
  fc.constant({ type: FrameType.end }),
  fc.constant({ type: FrameType.summaryRequest }),
  fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 20 }).map((hashes) => {
    const summary = new BucketSummary();
    for (const hash of hashes) summary.add(hash);
    return { type: FrameType.summary, summary };
  }),
  fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 256 }).map((buckets) => ({ type: FrameType.hashesRequest, buckets })),
  fc.array(id, { maxLength: 64 }).map((ids) => ({ type: FrameType.hashes, ids })),
  fc.array(id, { maxLength: 64 }).map((ids) => ({ type: FrameType.envelopesRequest, ids })),
  fc.array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { maxLength: 8 }).map((envelopes) => ({ type: FrameType.envelopes, envelopes })),
);

/** An envelopes frame whose entry lengths are given, not computed: prefixes that lie. */
const lyingEnvelopes = fc.array(fc.tuple(fc.oneof(fc.nat(300), fc.constantFrom(0, 0xffffffff, 0x7fffffff, 0x80000000)), fc.uint8Array({ maxLength: 300 })), { minLength: 1, maxLength: 4 })
  .map((entries) => {
    const parts = entries.map(([length, body]) => {
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(length);
      return Buffer.concat([prefix, body]);
    });
    return new Uint8Array(Buffer.concat([Buffer.of(FrameType.envelopes), ...parts]));
  });

const samples = fc.sample(validFrame, { seed: 1, numRuns: 40 }).map(encodeFrame);

export const syncFrameTarget: FuzzTarget<Uint8Array> = {
  name: 'sync frame',
  arbitrary: fc.oneof(
    randomBytes,
    validFrame.map(encodeFrame),
    mutatedBytes(samples),
    lyingEnvelopes,
    fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 64 })).map(([type, body]) => Uint8Array.of(type, ...body)),
  ),
  decode: decodeFrame,
  codes: ['BAD_FRAME'],
  where: 'sync frame',
  check(value) {
    assert.deepEqual(decodeFrame(encodeFrame(value as Frame)), value, 'a decoded frame encodes to bytes that decode to the same frame');
  },
};
