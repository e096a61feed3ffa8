/**
 * The sync protocol's pure parts (DESIGN section 6): buckets of envelope hashes for set
 * reconciliation, and the binary frames peers exchange. Every decoder checks lengths and
 * throws BAD_FRAME; a peer that sends one is disconnected.
 *
 * Reconciliation: envelope hashes fall into 256 buckets by their first byte. A bucket's
 * summary is its count and the XOR of its hashes, so adding a hash updates it in O(1). Peers
 * compare the 256 summaries, exchange the id lists of buckets that differ, and fetch only
 * the envelopes they lack, in batched frames.
 */
import { ProtocolError } from './errors.ts';

export const BUCKETS = 256;
export const HASH_BYTES = 32;
/**
 * Hash lists and envelope requests name envelopes by the first 8 bytes of their hash: a
 * quarter of the bytes, and a collision between two envelopes' ids is a 2^-64 event per pair
 * (it would only delay that envelope to gossip). Received envelopes are checked against the id.
 */
export const ID_BYTES = 8;
const SUMMARY_ENTRY = 4 + HASH_BYTES;
/** Largest frame either side reads or writes. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Hashes one envelope request may name. */
export const MAX_REQUEST_HASHES = 2048;

export const FrameType = {
  end: 0,
  summaryRequest: 1,
  summary: 2,
  hashesRequest: 3,
  hashes: 4,
  envelopesRequest: 5,
  envelopes: 6,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export type Frame =
  | { type: typeof FrameType.end }
  | { type: typeof FrameType.summaryRequest }
  | { type: typeof FrameType.summary; summary: BucketSummary }
  | { type: typeof FrameType.hashesRequest; buckets: number[] }
  | { type: typeof FrameType.hashes; ids: Uint8Array[] }
  | { type: typeof FrameType.envelopesRequest; ids: Uint8Array[] }
  | { type: typeof FrameType.envelopes; envelopes: Uint8Array[] };

/** Count and XOR of the hashes in each of the 256 buckets. */
export class BucketSummary {
  readonly counts = new Uint32Array(BUCKETS);
  readonly xors = new Uint8Array(BUCKETS * HASH_BYTES);

  add(hash: Uint8Array): void {
    const bucket = hash[0]!;
    this.counts[bucket]! += 1;
    const offset = bucket * HASH_BYTES;
    for (let i = 0; i < HASH_BYTES; i++) this.xors[offset + i]! ^= hash[i]!;
  }

  /** Buckets whose count or XOR differ from `other`'s. */
  differing(other: BucketSummary): number[] {
    const result: number[] = [];
    for (let b = 0; b < BUCKETS; b++) {
      if (this.counts[b] !== other.counts[b]) {
        result.push(b);
        continue;
      }
      const offset = b * HASH_BYTES;
      for (let i = 0; i < HASH_BYTES; i++) {
        if (this.xors[offset + i] !== other.xors[offset + i]) {
          result.push(b);
          break;
        }
      }
    }
    return result;
  }
}

function bad(message: string): never {
  throw new ProtocolError('BAD_FRAME', `sync frame: ${message}`);
}

function idList(body: Uint8Array, max: number, what: string): Uint8Array[] {
  if (body.length % ID_BYTES !== 0) bad(`${what}: expected a multiple of ${ID_BYTES} bytes, got ${body.length}`);
  const count = body.length / ID_BYTES;
  if (count > max) bad(`${what}: expected at most ${max} ids, got ${count}`);
  return Array.from({ length: count }, (_, i) => body.subarray(i * ID_BYTES, (i + 1) * ID_BYTES));
}

export function encodeFrame(frame: Frame): Uint8Array {
  switch (frame.type) {
    case FrameType.end:
    case FrameType.summaryRequest:
      return Uint8Array.of(frame.type);
    case FrameType.summary: {
      const out = new Uint8Array(1 + BUCKETS * SUMMARY_ENTRY);
      const view = new DataView(out.buffer);
      out[0] = frame.type;
      for (let b = 0; b < BUCKETS; b++) {
        view.setUint32(1 + b * SUMMARY_ENTRY, frame.summary.counts[b]!);
        out.set(frame.summary.xors.subarray(b * HASH_BYTES, (b + 1) * HASH_BYTES), 1 + b * SUMMARY_ENTRY + 4);
      }
      return out;
    }
    case FrameType.hashesRequest:
      return Uint8Array.of(frame.type, ...frame.buckets);
    case FrameType.hashes:
    case FrameType.envelopesRequest: {
      const out = new Uint8Array(1 + frame.ids.length * ID_BYTES);
      out[0] = frame.type;
      frame.ids.forEach((id, i) => out.set(id, 1 + i * ID_BYTES));
      return out;
    }
    case FrameType.envelopes: {
      const size = frame.envelopes.reduce((n, e) => n + 4 + e.length, 1);
      const out = new Uint8Array(size);
      const view = new DataView(out.buffer);
      out[0] = frame.type;
      let at = 1;
      for (const envelope of frame.envelopes) {
        view.setUint32(at, envelope.length);
        out.set(envelope, at + 4);
        at += 4 + envelope.length;
      }
      return out;
    }
  }
}

export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.length === 0) bad('empty frame');
  if (bytes.length > MAX_FRAME_BYTES) bad(`expected at most ${MAX_FRAME_BYTES} bytes, got ${bytes.length}`);
  const type = bytes[0];
  const body = bytes.subarray(1);
  switch (type) {
    case FrameType.end:
    case FrameType.summaryRequest:
      if (body.length !== 0) bad(`type ${type}: expected no body, got ${body.length} bytes`);
      return { type };
    case FrameType.summary: {
      if (body.length !== BUCKETS * SUMMARY_ENTRY) bad(`summary: expected ${BUCKETS * SUMMARY_ENTRY} bytes, got ${body.length}`);
      const summary = new BucketSummary();
      const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
      for (let b = 0; b < BUCKETS; b++) {
        summary.counts[b] = view.getUint32(b * SUMMARY_ENTRY);
        summary.xors.set(body.subarray(b * SUMMARY_ENTRY + 4, (b + 1) * SUMMARY_ENTRY), b * HASH_BYTES);
      }
      return { type, summary };
    }
    case FrameType.hashesRequest: {
      const buckets = [...body];
      if (buckets.length === 0 || new Set(buckets).size !== buckets.length) bad('hashes request: expected distinct bucket numbers');
      return { type, buckets };
    }
    case FrameType.hashes:
      return { type, ids: idList(body, MAX_FRAME_BYTES / ID_BYTES, 'hashes') };
    case FrameType.envelopesRequest:
      return { type, ids: idList(body, MAX_REQUEST_HASHES, 'envelopes request') };
    case FrameType.envelopes: {
      const envelopes: Uint8Array[] = [];
      const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
      let at = 0;
      while (at < body.length) {
        if (at + 4 > body.length) bad('envelopes: truncated length');
        const length = view.getUint32(at);
        if (length === 0 || at + 4 + length > body.length) bad(`envelopes: entry of ${length} bytes overruns the frame`);
        envelopes.push(body.subarray(at + 4, at + 4 + length));
        at += 4 + length;
      }
      return { type, envelopes };
    }
    default:
      return bad(`unknown frame type ${type}`);
  }
}

/**
 * Splits the buckets to ask for into requests whose ids, as the peer's summary counts them,
 * fit in `maxIds` each, so no hash list reply need be longer (the reply itself is held to the
 * hard bound). A bucket counted above `maxIds` alone is left out: `skipped`.
 */
export function bucketGroups(buckets: readonly number[], counts: Uint32Array, maxIds: number): { groups: number[][]; skipped: number[] } {
  const groups: number[][] = [];
  const skipped: number[] = [];
  let group: number[] = [];
  let ids = 0;
  for (const bucket of buckets) {
    const count = counts[bucket]!;
    if (count > maxIds) {
      skipped.push(bucket);
      continue;
    }
    if (ids + count > maxIds && group.length > 0) {
      groups.push(group);
      group = [];
      ids = 0;
    }
    group.push(bucket);
    ids += count;
  }
  if (group.length > 0) groups.push(group);
  return { groups, skipped };
}
