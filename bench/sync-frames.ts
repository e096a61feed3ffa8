/**
 * The sync frame codec (protocol/sync.ts over protocol/sync.proto): encode and decode of the two
 * frames that carry a round's bytes, a full hash list frame (131,071 ids, 1 MiB) and an envelopes
 * frame (15 envelopes of 64 KiB, under 1 MiB), in MB/s. A round moves 256 MiB at most; the codec
 * should stay well above the network's rate. Hash list frames cost most: one Uint8Array per id.
 * Run: node bench/sync-frames.ts [rounds=200]
 */
import { randomBytes } from 'node:crypto';
import { decodeFrame, encodeFrame, FrameType, ID_BYTES, MAX_IDS_PER_FRAME, type Frame } from '../protocol/sync.ts';
import { MAX_ENVELOPE_BYTES } from '../protocol/dsse.ts';

const rounds = Number(process.argv[2] ?? '200');
const frames: [string, Frame][] = [
  ['hashes', { type: FrameType.hashes, ids: Array.from({ length: MAX_IDS_PER_FRAME }, () => randomBytes(ID_BYTES)) }],
  ['envelopes', { type: FrameType.envelopes, envelopes: Array.from({ length: 15 }, () => randomBytes(MAX_ENVELOPE_BYTES)) }],
];

for (const [name, frame] of frames) {
  const bytes = encodeFrame(frame);
  let started = performance.now();
  for (let i = 0; i < rounds; i++) encodeFrame(frame);
  const encodeMs = performance.now() - started;
  started = performance.now();
  for (let i = 0; i < rounds; i++) decodeFrame(bytes);
  const decodeMs = performance.now() - started;
  const mbps = (ms: number) => ((bytes.length * rounds) / 1e6 / (ms / 1000)).toFixed(0);
  console.log(`${name} frame of ${bytes.length} bytes x ${rounds}: encode ${mbps(encodeMs)} MB/s, decode ${mbps(decodeMs)} MB/s`);
}
