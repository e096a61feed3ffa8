/**
 * Catch-up by set reconciliation (DESIGN section 6) on `/stagex/<networkId>/sync/1.0.0`.
 * The initiator asks for the peer's bucket summary, then for the envelope id lists of the
 * buckets that differ, then for the envelopes it lacks, in batched length-prefixed frames
 * (protocol/sync.ts). One request per stream; a stream that makes no progress for a while is
 * aborted, and a round that fails is retried soon rather than at the next interval. Received envelopes
 * go through the validation pipeline and the store like gossip; a peer that sends a malformed
 * frame, an envelope it was not asked for, or an invalid envelope is disconnected.
 */
import { lpStream } from '@libp2p/utils';
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import { ProtocolError } from '../../protocol/errors.ts';
import { envelopeHash } from '../../protocol/dsse.ts';
import { decodeFrame, encodeFrame, FrameType, ID_BYTES, MAX_FRAME_BYTES, MAX_REQUEST_HASHES, type Frame } from '../../protocol/sync.ts';
import type { TrustPolicy } from '../../protocol/trust.ts';
import type { AttestationStore } from '../../store/store.ts';
import { ingestBatches } from '../ingest.ts';
import { inlineVerifier, type BatchVerifier } from '../verify-pool.ts';
import { idHex, idOf, type HashIndex } from './hash-index.ts';
import type { Peer } from './peer.ts';

export const syncProtocol = (networkId: string) => `/stagex/${networkId}/sync/1.0.0`;

export interface SyncInit {
  networkId: string;
  policy: TrustPolicy;
  store: AttestationStore;
  index: HashIndex;
  /** Verifies received envelopes (a worker pool in the daemon). Default: on this thread. */
  verify?: BatchVerifier;
  /** Time between sync rounds with every connected peer. Default 15 s. */
  intervalMs?: number;
  /** Longest wait without progress (a frame written or read) on one stream. Default 15 s. */
  timeoutMs?: number;
  /** Wait before retrying a round that failed (not for misbehaviour), doubled after each failure in a row. Default 2 s. */
  retryMs?: number;
  /** The longest wait between retries, however many rounds failed in a row. Default 5 min. */
  maxRetryMs?: number;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export interface SyncCounters {
  rounds: number;
  bytesIn: number;
  bytesOut: number;
  envelopesReceived: number;
  envelopesAdded: number;
  peersDropped: number;
}

/** Below this many missing envelopes, verifying on this thread beats waking workers. */
const POOL_MIN = 1000;

/**
 * The wait before retry number `failures` (1 for the first): `retryMs` doubled per failure in a
 * row, at most `maxRetryMs`, so a peer that keeps failing costs a dial every few minutes, not
 * every 2 s.
 */
export function retryDelay(failures: number, retryMs: number, maxRetryMs: number): number {
  return Math.min(maxRetryMs, retryMs * 2 ** Math.min(Math.max(0, failures - 1), 30));
}

/** Thrown when a peer breaks the protocol; the connection is then closed. */
class Misbehaviour extends Error {}

/** An abort signal that fires after `ms` without progress; `touch()` starts the wait again. */
class Idle {
  readonly #controller = new AbortController();
  readonly #ms: number;
  #timer: NodeJS.Timeout;
  constructor(ms: number) {
    this.#ms = ms;
    this.#timer = this.#arm();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  touch(): void {
    clearTimeout(this.#timer);
    this.#timer = this.#arm();
  }

  clear(): void {
    clearTimeout(this.#timer);
  }

  #arm(): NodeJS.Timeout {
    return setTimeout(() => this.#controller.abort(new Error(`no progress for ${this.#ms} ms`)), this.#ms);
  }
}

export class Sync {
  readonly protocol: string;
  readonly counters: SyncCounters = { rounds: 0, bytesIn: 0, bytesOut: 0, envelopesReceived: 0, envelopesAdded: 0, peersDropped: 0 };
  readonly #init: SyncInit;
  readonly #running = new Map<string, Promise<void>>();
  /** Rounds failed in a row, per peer: the backoff. */
  readonly #failures = new Map<string, number>();
  /** Peers that answered "protocol not supported": not asked again until they reconnect. */
  readonly #unsupported = new Set<string>();
  #node?: Peer;
  #timer?: NodeJS.Timeout;
  #stopped = false;

  constructor(init: SyncInit) {
    this.#init = init;
    this.protocol = syncProtocol(init.networkId);
  }

  get #log() {
    return this.#init.log ?? (() => {});
  }

  async start(node: Peer): Promise<void> {
    this.#node = node;
    await node.handle(this.protocol, (stream, connection) => this.#serve(stream, connection), { runOnLimitedConnection: false });
    node.addEventListener('peer:identify', (event) => {
      if (event.detail.protocols.includes(this.protocol)) void this.syncWith(event.detail.peerId);
    });
    node.addEventListener('peer:disconnect', (event) => {
      const key = event.detail.toString();
      this.#unsupported.delete(key);
      this.#failures.delete(key);
    });
    this.#timer = setInterval(() => {
      for (const peer of node.getPeers()) void this.syncWith(peer);
    }, this.#init.intervalMs ?? 15_000);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await Promise.allSettled(this.#running.values());
    await this.#node?.unhandle(this.protocol);
  }

  /** One reconciliation round with a peer (at most one at a time per peer). */
  syncWith(peer: PeerId): Promise<void> {
    const key = peer.toString();
    const running = this.#running.get(key);
    if (running) return running;
    if (this.#unsupported.has(key)) return Promise.resolve();
    const round = this.#round(peer).then(() => {
      this.#failures.delete(key);
    }, (error: Error) => {
      if (error instanceof Misbehaviour) return this.#drop(peer, error.message);
      if (error.name === 'UnsupportedProtocolError') {
        // A peer without our sync protocol (another network id, another program) will not grow
        // one while connected: asking again is a dial for nothing.
        this.#unsupported.add(key);
        this.#log('sync.unsupported', { peer: key, protocol: this.protocol });
        return;
      }
      const failures = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, failures);
      const delayMs = retryDelay(failures, this.#init.retryMs ?? 2000, this.#init.maxRetryMs ?? 300_000);
      this.#log('sync.failed', { peer: key, error: error.message, failures, retryInMs: delayMs });
      setTimeout(() => {
        if (!this.#stopped && this.#node?.getPeers().some((p) => p.equals(peer))) void this.syncWith(peer);
      }, delayMs).unref();
    }).finally(() => this.#running.delete(key));
    this.#running.set(key, round);
    return round;
  }

  async #round(peer: PeerId): Promise<void> {
    const { index } = this.#init;
    this.counters.rounds += 1;
    const [summaryFrame] = await this.#request(peer, { type: FrameType.summaryRequest }, FrameType.summary, false);
    if (summaryFrame?.type !== FrameType.summary) throw new Misbehaviour('expected a summary frame');
    const buckets = index.summary.differing(summaryFrame.summary);
    if (buckets.length === 0) return;
    const theirs = await this.#request(peer, { type: FrameType.hashesRequest, buckets }, FrameType.hashes, true);
    const missing: Uint8Array[] = [];
    for (const frame of theirs) {
      if (frame.type !== FrameType.hashes) throw new Misbehaviour('expected hashes frames');
      for (const id of frame.ids) {
        if (!buckets.includes(id[0]!)) throw new Misbehaviour('sent an id from a bucket it was not asked for');
        if (!index.lookup(idHex(id))) missing.push(id);
      }
    }
    if (missing.length === 0) return;
    const chunks = Array.from({ length: Math.ceil(missing.length / MAX_REQUEST_HASHES) }, (_, i) => missing.slice(i * MAX_REQUEST_HASHES, (i + 1) * MAX_REQUEST_HASHES));
    const verify = (missing.length > POOL_MIN && this.#init.verify) || inlineVerifier(this.#init.policy);
    const counts = await ingestBatches(this.#envelopeBatches(peer, chunks), this.#init.store, verify, `sync from ${peer}`);
    this.counters.envelopesAdded += counts.added;
    const invalid = counts.refused.filter((r) => r.code !== 'UNKNOWN_SIGNER');
    if (invalid.length > 0) throw new Misbehaviour(`sent ${invalid.length} invalid envelope(s): ${invalid[0]!.error}`);
    this.#log('sync.round', { peer: peer.toString(), missing: missing.length, added: counts.added, capped: counts.capped });
  }

  /**
   * Envelope batches, checked against what was asked for. The next chunk is requested before
   * this one is handed on, so the transfer overlaps with verification.
   */
  async *#envelopeBatches(peer: PeerId, chunks: Uint8Array[][]): AsyncGenerator<Uint8Array[]> {
    const fetch = (chunk: Uint8Array[]) => this.#request(peer, { type: FrameType.envelopesRequest, ids: chunk }, FrameType.envelopes, true);
    let next = chunks.length > 0 ? fetch(chunks[0]!) : undefined;
    for (const [i, chunk] of chunks.entries()) {
      const frames = await next!;
      next = i + 1 < chunks.length ? fetch(chunks[i + 1]!) : undefined;
      next?.catch(() => undefined);
      const wanted = new Set(chunk.map(idHex));
      for (const frame of frames) {
        if (frame.type !== FrameType.envelopes) throw new Misbehaviour('expected envelopes frames');
        for (const envelope of frame.envelopes) {
          if (!wanted.delete(idOf(envelopeHash(envelope)))) throw new Misbehaviour('sent an envelope it was not asked for');
        }
        this.counters.envelopesReceived += frame.envelopes.length;
        yield frame.envelopes;
      }
    }
  }

  /** Sends one request on a new stream; reads one frame, or frames until an end frame. */
  async #request(peer: PeerId, request: Frame, expect: FrameType, untilEnd: boolean): Promise<Frame[]> {
    const idle = this.#idle();
    const { signal } = idle;
    const stream = await this.#node!.dialProtocol(peer, this.protocol, { signal }).catch((error: Error) => {
      idle.clear();
      throw error;
    });
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
    try {
      await this.#write(lp, request, idle);
      const frames: Frame[] = [];
      for (;;) {
        const frame = this.#decode((await lp.read({ signal })).subarray());
        idle.touch();
        if (frame.type === FrameType.end && untilEnd) break;
        if (frame.type !== expect) throw new Misbehaviour(`expected frame type ${expect}, got ${frame.type}`);
        frames.push(frame);
        if (!untilEnd) break;
      }
      await stream.close({ signal });
      return frames;
    } catch (error) {
      stream.abort(error as Error);
      throw error;
    } finally {
      idle.clear();
    }
  }

  /** Answers one request; a peer that sends garbage is disconnected. */
  async #serve(stream: Stream, connection: Connection): Promise<void> {
    const idle = this.#idle();
    const { signal } = idle;
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
    try {
      const request = this.#decode((await lp.read({ signal })).subarray());
      idle.touch();
      switch (request.type) {
        case FrameType.summaryRequest:
          await this.#write(lp, { type: FrameType.summary, summary: this.#init.index.summary }, idle);
          break;
        case FrameType.hashesRequest:
          await this.#sendHashes(lp, request.buckets, idle);
          break;
        case FrameType.envelopesRequest:
          await this.#sendEnvelopes(lp, request.ids.map(idHex), idle);
          break;
        default:
          throw new Misbehaviour(`expected a request frame, got type ${request.type}`);
      }
      await stream.close({ signal });
    } catch (error) {
      stream.abort(error as Error);
      if (error instanceof Misbehaviour) await this.#drop(connection.remotePeer, error.message);
      else this.#log('sync.serve_failed', { peer: connection.remotePeer.toString(), error: (error as Error).message });
    } finally {
      idle.clear();
    }
  }

  #idle(): Idle {
    return new Idle(this.#init.timeoutMs ?? 15_000);
  }

  async #sendHashes(lp: ReturnType<typeof lpStream>, buckets: number[], idle: Idle): Promise<void> {
    const perFrame = Math.floor((MAX_FRAME_BYTES - 1) / ID_BYTES);
    let batch: Uint8Array[] = [];
    for (const id of this.#init.index.inBuckets(buckets)) {
      batch.push(id);
      if (batch.length === perFrame) {
        await this.#write(lp, { type: FrameType.hashes, ids: batch }, idle);
        batch = [];
      }
    }
    if (batch.length > 0) await this.#write(lp, { type: FrameType.hashes, ids: batch }, idle);
    await this.#write(lp, { type: FrameType.end }, idle);
  }

  async #sendEnvelopes(lp: ReturnType<typeof lpStream>, ids: string[], idle: Idle): Promise<void> {
    const hashes = ids.map((id) => this.#init.index.lookup(id)).filter((h): h is string => h !== undefined);
    const found = (await this.#init.store.getMany(hashes)).filter((e): e is Uint8Array => e !== undefined);
    let batch: Uint8Array[] = [];
    let size = 1;
    for (const envelope of found) {
      if (size + 4 + envelope.length > MAX_FRAME_BYTES) {
        await this.#write(lp, { type: FrameType.envelopes, envelopes: batch }, idle);
        batch = [];
        size = 1;
      }
      batch.push(envelope);
      size += 4 + envelope.length;
    }
    if (batch.length > 0) await this.#write(lp, { type: FrameType.envelopes, envelopes: batch }, idle);
    await this.#write(lp, { type: FrameType.end }, idle);
  }

  async #write(lp: ReturnType<typeof lpStream>, frame: Frame, idle: Idle): Promise<void> {
    const bytes = encodeFrame(frame);
    this.counters.bytesOut += bytes.length;
    await lp.write(bytes, { signal: idle.signal });
    idle.touch();
  }

  #decode(bytes: Uint8Array): Frame {
    this.counters.bytesIn += bytes.length;
    try {
      return decodeFrame(bytes);
    } catch (error) {
      if (error instanceof ProtocolError) throw new Misbehaviour(error.message);
      throw error;
    }
  }

  async #drop(peer: PeerId, reason: string): Promise<void> {
    this.counters.peersDropped += 1;
    this.#log('sync.peer_dropped', { peer: peer.toString(), reason });
    await this.#node?.hangUp(peer).catch(() => undefined);
  }
}
