/**
 * The sync protocol's pure parts (DESIGN section 6): buckets of envelope hashes for set
 * reconciliation, and the frames peers exchange, described in protocol/sync.proto (for
 * reproducers in other languages) and coded by protons (protocol/pb/sync.js, regenerated with
 * `npm run proto`). decodeFrame is the single way in: it checks every size and count and throws
 * BAD_FRAME; a peer that sends one is disconnected.
 *
 * Reconciliation: envelope hashes fall into 256 buckets by their first byte. A bucket's
 * summary is its count and the XOR of its hashes, so adding a hash updates it in O(1). Peers
 * compare the 256 summaries, exchange the id lists of buckets that differ, and fetch only
 * the envelopes they lack, in batched frames.
 */
import { MAX_ENVELOPE_BYTES } from './dsse.ts';
import { ProtocolError } from './errors.ts';
import { SyncFrame } from './pb/sync.js';

export const BUCKETS = 256;
export const HASH_BYTES = 32;
/**
 * Hash lists and envelope requests name envelopes by the first 8 bytes of their hash: a
 * quarter of the bytes, and a collision between two envelopes' ids is a 2^-64 event per pair
 * (it would only delay that envelope to gossip). Received envelopes are checked against the id.
 */
export const ID_BYTES = 8;
/** Largest frame either side reads or writes. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Hashes one envelope request may name, and so envelopes one envelopes frame may carry. */
export const MAX_REQUEST_HASHES = 2048;
/** Longest refusal message. */
export const MAX_ERROR_CHARS = 1024;
/**
 * Protobuf framing around a frame's payload: the frame's field tag and length (1 + 3 bytes for
 * a length under 2 MiB), and the same again per entry (an id list, or each envelope).
 */
export const FRAME_OVERHEAD = 4;
export const ENTRY_OVERHEAD = 4;
/** Ids that fit in one hash list frame. */
export const MAX_IDS_PER_FRAME = Math.floor((MAX_FRAME_BYTES - FRAME_OVERHEAD - ENTRY_OVERHEAD) / ID_BYTES);

/** Frame kinds, one per SyncFrame field (the numbers are this module's, not the wire's). */
export const FrameType = {
  end: 0,
  summaryRequest: 1,
  summary: 2,
  hashesRequest: 3,
  hashes: 4,
  envelopesRequest: 5,
  envelopes: 6,
  error: 7,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export type Frame =
  | { type: typeof FrameType.end }
  | { type: typeof FrameType.summaryRequest }
  | { type: typeof FrameType.summary; summary: BucketSummary }
  | { type: typeof FrameType.hashesRequest; buckets: number[] }
  | { type: typeof FrameType.hashes; ids: Uint8Array[] }
  | { type: typeof FrameType.envelopesRequest; ids: Uint8Array[] }
  | { type: typeof FrameType.envelopes; envelopes: Uint8Array[] }
  | { type: typeof FrameType.error; message: string };

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

function idList(bytes: Uint8Array, min: number, max: number, what: string): Uint8Array[] {
  if (bytes.length % ID_BYTES !== 0) bad(`${what}: expected a multiple of ${ID_BYTES} bytes, got ${bytes.length}`);
  const count = bytes.length / ID_BYTES;
  if (count < min || count > max) bad(`${what}: expected ${min} to ${max} ids, got ${count}`);
  return Array.from({ length: count }, (_, i) => bytes.subarray(i * ID_BYTES, (i + 1) * ID_BYTES));
}

function concat(ids: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(ids.length * ID_BYTES);
  ids.forEach((id, i) => out.set(id.subarray(0, ID_BYTES), i * ID_BYTES));
  return out;
}

export function encodeFrame(frame: Frame): Uint8Array {
  switch (frame.type) {
    case FrameType.end:
      return SyncFrame.encode({ end: {} });
    case FrameType.summaryRequest:
      return SyncFrame.encode({ summaryRequest: {} });
    case FrameType.summary:
      return SyncFrame.encode({ summary: { counts: [...frame.summary.counts], xors: frame.summary.xors } });
    case FrameType.hashesRequest:
      return SyncFrame.encode({ hashesRequest: { buckets: Uint8Array.from(frame.buckets) } });
    case FrameType.hashes:
      return SyncFrame.encode({ hashes: { ids: concat(frame.ids) } });
    case FrameType.envelopesRequest:
      return SyncFrame.encode({ envelopesRequest: { ids: concat(frame.ids) } });
    case FrameType.envelopes:
      return SyncFrame.encode({ envelopes: { envelopes: frame.envelopes as Uint8Array<ArrayBuffer>[] } });
    case FrameType.error:
      return SyncFrame.encode({ error: { message: frame.message.slice(0, MAX_ERROR_CHARS) } });
  }
}

/** The one SyncFrame field set, or BAD_FRAME. */
function only(decoded: SyncFrame): keyof SyncFrame {
  const set = (Object.keys(decoded) as (keyof SyncFrame)[]).filter((key) => decoded[key] !== undefined);
  if (set.length !== 1) bad(`expected exactly one frame field, got ${set.length === 0 ? 'none' : set.join(', ')}`);
  return set[0]!;
}

export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.length === 0) bad('empty frame');
  if (bytes.length > MAX_FRAME_BYTES) bad(`expected at most ${MAX_FRAME_BYTES} bytes, got ${bytes.length}`);
  let decoded: SyncFrame;
  try {
    decoded = SyncFrame.decode(bytes, { limits: { summary: { counts: BUCKETS }, envelopes: { envelopes: MAX_REQUEST_HASHES } } });
  } catch (error) {
    return bad(`not a SyncFrame (${(error as Error).message})`);
  }
  switch (only(decoded)) {
    case 'end':
      return { type: FrameType.end };
    case 'summaryRequest':
      return { type: FrameType.summaryRequest };
    case 'summary': {
      const { counts, xors } = decoded.summary!;
      if (counts.length !== BUCKETS) bad(`summary: expected ${BUCKETS} counts, got ${counts.length}`);
      if (xors.length !== BUCKETS * HASH_BYTES) bad(`summary: expected ${BUCKETS * HASH_BYTES} bytes of XORs, got ${xors.length}`);
      const summary = new BucketSummary();
      summary.counts.set(counts);
      summary.xors.set(xors);
      return { type: FrameType.summary, summary };
    }
    case 'hashesRequest': {
      const buckets = [...decoded.hashesRequest!.buckets];
      if (buckets.length === 0 || new Set(buckets).size !== buckets.length) bad('hashes request: expected distinct bucket numbers');
      return { type: FrameType.hashesRequest, buckets };
    }
    case 'hashes':
      return { type: FrameType.hashes, ids: idList(decoded.hashes!.ids, 1, MAX_IDS_PER_FRAME, 'hashes') };
    case 'envelopesRequest':
      return { type: FrameType.envelopesRequest, ids: idList(decoded.envelopesRequest!.ids, 1, MAX_REQUEST_HASHES, 'envelopes request') };
    case 'envelopes': {
      const { envelopes } = decoded.envelopes!;
      if (envelopes.length === 0) bad('envelopes: expected at least one envelope');
      for (const envelope of envelopes) {
        if (envelope.length === 0 || envelope.length > MAX_ENVELOPE_BYTES) bad(`envelopes: expected envelopes of 1 to ${MAX_ENVELOPE_BYTES} bytes, got ${envelope.length}`);
      }
      return { type: FrameType.envelopes, envelopes };
    }
    case 'error': {
      const { message } = decoded.error!;
      if (message.length > MAX_ERROR_CHARS) bad(`error: expected at most ${MAX_ERROR_CHARS} characters, got ${message.length}`);
      return { type: FrameType.error, message };
    }
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
