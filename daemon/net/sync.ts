/**
 * Catch-up by set reconciliation (DESIGN section 6) on `/stagex/<networkId>/sync/2.0.0`, as a
 * libp2p service (`attestationSync(init)` in `createLibp2p({ services })`).
 * The initiator asks for the peer's bucket summary, then for the envelope id lists of the
 * buckets that differ (a few buckets per request, so each list is bounded), then for the
 * envelopes it lacks, 128 per request with 4 requests in flight, in length-prefixed protobuf
 * frames (protocol/sync.proto, decoded by protocol/sync.ts). One request per stream. Received
 * envelopes go through one validation pipeline per round (verified on the worker pool) and to
 * the store reply by reply, as they arrive, like gossip.
 *
 * Any peer may be hostile, so everything it can make us spend is bounded (SyncInit): bytes per
 * frame, bytes and frames per round, ids per reply, envelopes per request, time without
 * progress per stream, streams it may open. A peer past a bound, or that sends a malformed
 * frame, something it was not asked for or an invalid envelope, is disconnected and banned
 * for `banMs`. A round that fails otherwise (a reset connection) is retried with backoff.
 */
import { lpStream } from '@libp2p/utils';
import type { Connection, IdentifyResult, Libp2p, PeerId, Startable, Stream } from '@libp2p/interface';
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal';
import { ProtocolError } from '../../protocol/errors.ts';
import { envelopeHash, isCanonicalForm, MAX_ENVELOPE_BYTES } from '../../protocol/dsse.ts';
import { bucketGroups, decodeFrame, encodeFrame, ENTRY_OVERHEAD, FRAME_OVERHEAD, FrameType, MAX_FRAME_BYTES, MAX_IDS_PER_FRAME, MAX_REQUEST_HASHES, type Frame } from '../../protocol/sync.ts';
import type { TrustPolicy } from '../../protocol/trust.ts';
import type { AttestationStore } from '../../store/store.ts';
import { ingestBatches } from '../ingest.ts';
import { inlineVerifier, type BatchVerifier, type Checked } from '../verify-pool.ts';
import { Bans } from './bans.ts';
import { idHex, idOf, type HashIndex } from './hash-index.ts';
import { RefusedIds } from './refused-ids.ts';
import { Misbehaviour, RoundBudget } from './sync-budget.ts';

/** 2.0.0: frames are protobuf SyncFrames (protocol/sync.proto); 1.0.0 had a type byte and raw bodies. */
export const syncProtocol = (networkId: string) => `/stagex/${networkId}/sync/2.0.0`;

/** What sync takes from libp2p: the registrar for its handler, streams and hang-ups, peer events. Stubbed over in-memory streams in tests. */
export interface SyncComponents {
  registrar: Pick<Registrar, 'handle' | 'unhandle'>;
  connectionManager: Pick<ConnectionManager, 'openStream' | 'closeConnections' | 'getConnections'>;
  events: Pick<Libp2p, 'addEventListener' | 'removeEventListener'>;
}

export interface SyncInit {
  /** Names the protocol, `/stagex/<networkId>/sync/2.0.0`. Required. */
  networkId: string;
  /** Which keys count: envelopes from others are dropped unverified. Required. */
  policy: TrustPolicy;
  /** Where received envelopes go, and what is served. Required. */
  store: AttestationStore;
  /** The stored hashes in memory, with the bucket summary compared. Required. */
  index: HashIndex;
  /** Verifies received envelopes (a worker pool in the daemon). Default: on this thread. */
  verify?: BatchVerifier;
  /** Time between sync rounds with every connected peer, each wait drawn within +-25 % of it (jittered). Default 15 s. */
  intervalMs?: number;
  /** Longest wait without progress (a frame written or read) on one stream; past it the peer is misbehaving. Default 15 s. */
  timeoutMs?: number;
  /** Wait before retrying a round that failed (not for misbehaviour), doubled after each failure in a row. Default 2 s. */
  retryMs?: number;
  /** The longest wait between retries, however many rounds failed in a row. Default 5 min. */
  maxRetryMs?: number;
  /**
   * Most ids one hash list reply may carry (8 bytes each). Buckets are asked for a few at a time
   * so that, by the peer's own summary, a reply needs at most half of this (room for envelopes
   * that arrive meanwhile); a bucket counted above it is skipped. Default 65,536.
   */
  maxIdsPerReply?: number;
  /**
   * Envelopes asked for per request, at most 2048. A reply is then at most this many 64 KiB
   * envelopes (8 MiB by default; an honest one of 1.35 KB envelopes is 170 KB), held in memory
   * until verified: with requestsInFlight and the replies being verified, at most 72 MiB per
   * peer. Replies are read as they
   * arrive, never waiting for verification, so a stream's unread bytes stay within yamux's
   * window, under the 4 MiB at which libp2p aborts a stream. Fewer, larger requests cost both
   * sides less CPU per envelope (bench/catchup.ts: 128 rather than 32 took a third less on the
   * serving side). Default 128.
   */
  envelopesPerRequest?: number;
  /**
   * Envelope requests in flight to one peer at once (each on its own stream), so the transfer
   * overlaps verification and no round trip waits for the one before. Their worst-case replies
   * together are held to the round's budget before each is sent. From 1 to 16. Default 4.
   */
  requestsInFlight?: number;
  /**
   * Bytes read from one peer in one round. Requests stop before their worst-case replies
   * would pass it (the rest waits for the next round); a peer that passes it anyway is
   * misbehaving. Default 256 MiB.
   */
  maxBytesPerRound?: number;
  /** Frames read from one peer in one round, held like maxBytesPerRound. Default 65,536. */
  maxFramesPerRound?: number;
  /** How long a misbehaving peer stays disconnected and unasked. Default 10 min. */
  banMs?: number;
  /** Shared with the libp2p node's connection gater, so a banned peer is not dialled either. Default: sync's own. */
  bans?: Bans;
  /**
   * Sync streams a peer may have open towards us at once, per connection (a round uses up to
   * requestsInFlight, and a stream it has finished may not be closed on our side yet). One more
   * is misbehaviour (dropped and banned); the registrar resets streams past twice this. Default 8.
   */
  maxInboundStreams?: number;
  /** Sync streams we may have open towards a peer at once, per connection (a round uses up to requestsInFlight). Default 8. */
  maxOutboundStreams?: number;
  /**
   * Ids of fetched envelopes signed by no trusted key remembered, so that no round fetches them
   * again until the policy changes (daemon/net/refused-ids.ts); ~80 bytes each. Default 65,536.
   */
  maxRefusedIds?: number;
  /** Default: nothing logged. */
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export interface SyncCounters {
  rounds: number;
  /** Requests sent (one stream each): the round trips. */
  requests: number;
  bytesIn: number;
  bytesOut: number;
  envelopesReceived: number;
  envelopesAdded: number;
  peersDropped: number;
}

/** Default SyncInit.maxInboundStreams and maxOutboundStreams: twice the default requestsInFlight. */
const MAX_STREAMS = 8;
const MAX_IN_FLIGHT = 16;
/** Defaults of SyncInit.envelopesPerRequest and requestsInFlight. */
const PER_REQUEST = 128;
const IN_FLIGHT = 4;
/**
 * Replies being verified at once in a round (ingestBatches' inFlight): two per worker on two
 * cores, so a worker has the next batch while the last one is stored (bench/catchup.ts 20,000:
 * workers busy 80-94 % of the run with 4, 67-87 % with 2). With the requests in flight, a round
 * holds at most 4 + 4 + 1 replies: 72 MiB at worst (128 envelopes of 64 KiB each), ~1.5 MB
 * honest; an invalid envelope ends the round at the first batch verified.
 */
const VERIFYING = 4;
/** Below this many missing envelopes, verifying on this thread beats waking workers. */
const POOL_MIN = 1000;
/** The most bytes a reply of `count` envelopes can take: at worst one frame per envelope, then an end frame. */
const worstReplyBytes = (count: number) => FRAME_OVERHEAD + count * (FRAME_OVERHEAD + ENTRY_OVERHEAD + MAX_ENVELOPE_BYTES);

/**
 * The wait before retry number `failures` (1 for the first): `retryMs` doubled per failure in a
 * row, at most `maxRetryMs`, so a peer that keeps failing costs a dial every few minutes, not
 * every 2 s.
 */
export function retryDelay(failures: number, retryMs: number, maxRetryMs: number): number {
  return Math.min(maxRetryMs, retryMs * 2 ** Math.min(Math.max(0, failures - 1), 30));
}

/**
 * The wait before the next periodic round: the interval +-25 %, drawn anew each time. Nodes
 * started together (a machine's reboot, a test network, the propagation bench) would otherwise
 * run every round in step: 20 daemons syncing in the same second every 15 s made the only
 * slow seconds of a 30/s run (bench/propagation.ts: seconds 7-10 and 24-25 of every seed).
 */
export function jittered(intervalMs: number, random: () => number = Math.random): number {
  return intervalMs * (0.75 + random() / 2);
}

/**
 * An abort signal that fires after `ms` without progress; `touch()` starts the wait again.
 * Hand-made because a libp2p v3 stream's own `inactivityTimeout` is only a setting: yamux and
 * @libp2p/utils' message streams (at the versions pinned) start no timer from it.
 */
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

  /**
   * The error to report for a failure on this stream. Past the timeout, a frame longer than
   * the cap, or more unread bytes than libp2p buffers (no honest reply to our requests comes
   * near 4 MiB) are the peer's doing.
   */
  blame(error: unknown): unknown {
    if (this.signal.aborted) return new Misbehaviour('inactivity', `sync stream: no progress for ${this.#ms} ms`);
    const name = (error as Error | undefined)?.name ?? '';
    if (OVERSIZED.has(name)) return new Misbehaviour('frame', `sync stream: ${(error as Error).message}`);
    return error;
  }

  #arm(): NodeJS.Timeout {
    return setTimeout(() => this.#controller.abort(new Error(`no progress for ${this.#ms} ms`)), this.#ms);
  }
}

/** lpStream's errors for a length prefix past the frame cap, and libp2p's for a full read buffer. */
const OVERSIZED = new Set(['InvalidDataLengthError', 'InvalidDataLengthLengthError', 'InvalidMessageLengthError', 'StreamBufferError']);

type FrameOf<T extends FrameType> = Extract<Frame, { type: T }>;
type Lp = ReturnType<typeof lpStream>;

export class AttestationSync implements Startable {
  readonly protocol: string;
  readonly counters: SyncCounters = { rounds: 0, requests: 0, bytesIn: 0, bytesOut: 0, envelopesReceived: 0, envelopesAdded: 0, peersDropped: 0 };
  readonly #init: SyncInit;
  readonly #bans: Bans;
  readonly #running = new Map<string, Promise<void>>();
  /** Inbound sync streams open now, per connection id. */
  readonly #inbound = new Map<string, number>();
  /** Rounds failed in a row, per peer: the backoff. */
  readonly #failures = new Map<string, number>();
  /** Peers that answered "protocol not supported": not asked again until they reconnect. */
  readonly #unsupported = new Set<string>();
  readonly #components: SyncComponents;
  #policy: TrustPolicy;
  /** Envelopes refused under #policy as signed by no trusted key: not fetched again. */
  #refused: RefusedIds;
  #timer?: NodeJS.Timeout;
  #stopped = false;
  readonly #onIdentify = (event: CustomEvent<IdentifyResult>) => {
    if (event.detail.protocols.includes(this.protocol)) void this.syncWith(event.detail.peerId);
  };
  readonly #onDisconnect = (event: CustomEvent<PeerId>) => {
    const key = event.detail.toString();
    this.#unsupported.delete(key);
    this.#failures.delete(key);
  };

  readonly [Symbol.toStringTag] = '@stagex/attestation-sync';

  constructor(components: SyncComponents, init: SyncInit) {
    const perRequest = init.envelopesPerRequest ?? PER_REQUEST;
    if (!Number.isInteger(perRequest) || perRequest < 1 || perRequest > MAX_REQUEST_HASHES) throw new RangeError(`sync envelopesPerRequest: expected an integer from 1 to ${MAX_REQUEST_HASHES}, got ${perRequest}`);
    const inFlight = init.requestsInFlight ?? IN_FLIGHT;
    if (!Number.isInteger(inFlight) || inFlight < 1 || inFlight > MAX_IN_FLIGHT) throw new RangeError(`sync requestsInFlight: expected an integer from 1 to ${MAX_IN_FLIGHT}, got ${inFlight}`);
    this.#components = components;
    this.#init = init;
    this.#policy = init.policy;
    this.#refused = new RefusedIds(init.maxRefusedIds ?? 65_536);
    this.#bans = init.bans ?? new Bans();
    this.protocol = syncProtocol(init.networkId);
  }

  get #log() {
    return this.#init.log ?? (() => {});
  }

  async start(): Promise<void> {
    this.#stopped = false;
    await this.#components.registrar.handle(this.protocol, (stream, connection) => this.#serve(stream, connection), {
      runOnLimitedConnection: false,
      maxInboundStreams: 2 * (this.#init.maxInboundStreams ?? MAX_STREAMS),
      maxOutboundStreams: this.#init.maxOutboundStreams ?? MAX_STREAMS,
    });
    this.#components.events.addEventListener('peer:identify', this.#onIdentify);
    this.#components.events.addEventListener('peer:disconnect', this.#onDisconnect);
    const next = () => {
      this.#timer = setTimeout(() => {
        for (const peer of this.#peers()) void this.syncWith(peer);
        next();
      }, jittered(this.#init.intervalMs ?? 15_000));
    };
    next();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#components.events.removeEventListener('peer:identify', this.#onIdentify);
    this.#components.events.removeEventListener('peer:disconnect', this.#onDisconnect);
    await Promise.allSettled(this.#running.values());
    await this.#components.registrar.unhandle(this.protocol);
  }

  /**
   * Verifies what later rounds fetch under `policy` (a config reload), and starts a round with
   * every connected peer once its current one (verified under the old policy) ends: envelopes
   * of a newly trusted key, refused until now, come in at once rather than at the next interval.
   */
  async setPolicy(policy: TrustPolicy): Promise<void> {
    this.#policy = policy;
    this.#refused = new RefusedIds(this.#init.maxRefusedIds ?? 65_536);
    await Promise.all(this.#peers().map(async (peer) => {
      await this.#running.get(peer.toString());
      if (!this.#stopped) await this.syncWith(peer);
    }));
  }

  /** Connected peers, each once. */
  #peers(): PeerId[] {
    const peers = new Map<string, PeerId>();
    for (const { remotePeer } of this.#components.connectionManager.getConnections()) peers.set(remotePeer.toString(), remotePeer);
    return [...peers.values()];
  }

  /** One reconciliation round with a peer (at most one at a time per peer; none with a banned peer). */
  syncWith(peer: PeerId): Promise<void> {
    const key = peer.toString();
    const running = this.#running.get(key);
    if (running) return running;
    if (this.#unsupported.has(key) || this.#bans.isBanned(peer)) return Promise.resolve();
    let more = false;
    const round = this.#round(peer).then((result) => {
      this.#failures.delete(key);
      more = result.more;
    }, (error: Error) => {
      if (error instanceof Misbehaviour) return this.#drop(peer, error);
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
        if (!this.#stopped && this.#components.connectionManager.getConnections(peer).length > 0) void this.syncWith(peer);
      }, delayMs).unref();
    }).finally(() => {
      this.#running.delete(key);
      // Stopped at the round's budget with everything it received added: the rest comes now.
      if (more && !this.#stopped) void this.syncWith(peer);
    });
    this.#running.set(key, round);
    return round;
  }

  /**
   * Summary, then the differing buckets' id lists and the envelopes we lack, all through one
   * ingest pipeline, so verification never waits at a group's end for the next id list.
   * `more` when it stopped at the round's budget having added everything it received: the
   * peer has more for us, so the next round starts at once rather than at the next interval.
   */
  async #round(peer: PeerId): Promise<{ more: boolean }> {
    // Compared before the index has loaded, every bucket would differ.
    if (!(await this.#init.index.loaded)) throw new Error('sync: the hash index did not load (see index.load_failed)');
    this.counters.rounds += 1;
    const budget = new RoundBudget({ maxBytesPerRound: this.#init.maxBytesPerRound ?? 256 * 1024 * 1024, maxFramesPerRound: this.#init.maxFramesPerRound ?? 65_536 });
    let theirs: FrameOf<typeof FrameType.summary> | undefined;
    for await (const frame of this.#frames(peer, { type: FrameType.summaryRequest }, FrameType.summary, budget, false)) theirs = frame;
    if (!theirs) throw new Misbehaviour('reply', 'sync summary: expected a summary frame, got none');
    const maxIds = this.#init.maxIdsPerReply ?? 65_536;
    const ours = this.#init.index.summary;
    const differing = ours.differing(theirs.summary);
    const { groups, skipped } = bucketGroups(differing, theirs.summary.counts, Math.floor(maxIds / 2));
    if (skipped.length > 0) this.#log('sync.buckets_skipped', { peer: peer.toString(), buckets: skipped, maxIdsPerReply: maxIds });
    if (groups.length === 0) return { more: false };
    // By the counts, how many we lack at least: a large backlog is verified on the pool.
    const lacking = differing.reduce((n, b) => n + Math.max(0, theirs.summary.counts[b]! - ours.counts[b]!), 0);
    const invalid: Refusal[] = [];
    // The first invalid envelope verified aborts every request of the round: the peer is dropped now.
    const halt = new AbortController();
    // This round's policy's list: a reload meanwhile starts a new one, which this round does not fill.
    const refused = this.#refused;
    const verify = screened((lacking > POOL_MIN && this.#init.verify) || inlineVerifier(this.#policy), invalid, () => halt.abort(), refused);
    const progress = { missing: 0, refusedBefore: 0, complete: true };
    const counts = await ingestBatches(this.#wanted(peer, groups, maxIds, budget, progress, invalid, halt.signal, refused), this.#init.store, verify, `sync from ${peer}`, VERIFYING).catch((error: unknown) => {
      throw invalid.length > 0 ? invalidEnvelopes(invalid) : error;
    });
    this.counters.envelopesAdded += counts.added;
    if (invalid.length > 0) throw invalidEnvelopes(invalid);
    const unknown = counts.refused.length;
    // Envelopes of keys we do not trust are not fetched again (#refused): only capped ones would come back.
    const more = !progress.complete && counts.capped === 0 && counts.added > 0;
    if (!progress.complete) this.#log('sync.round_budget_reached', { peer: peer.toString(), bytes: budget.bytes, frames: budget.frames, next: more ? 'now' : 'at the interval' });
    if (progress.missing > 0) this.#log('sync.round', { peer: peer.toString(), missing: progress.missing, added: counts.added, capped: counts.capped, unknownSigner: unknown, refusedBefore: progress.refusedBefore, bytes: budget.bytes, frames: budget.frames });
    return { more };
  }

  /**
   * The replies of a round, group of buckets by group: the next group's id list is asked for
   * while this group's envelopes come in. Stops with `complete` false at the round's budget,
   * and with misbehaviour as soon as an envelope verified so far is invalid.
   */
  async *#wanted(peer: PeerId, groups: number[][], maxIds: number, budget: RoundBudget, progress: { missing: number; refusedBefore: number; complete: boolean }, invalid: Refusal[], halt: AbortSignal, refused: RefusedIds): AsyncGenerator<Uint8Array[]> {
    const list = (g: number) => {
      if (g >= groups.length) return undefined;
      const ids = this.#missing(peer, groups[g]!, maxIds, budget, refused, progress, cancel);
      ids.catch(() => undefined);
      return ids;
    };
    // Aborts the next group's id list when the round ends without it.
    const unused = new AbortController();
    const cancel = AbortSignal.any([unused.signal, halt]);
    let next = list(0);
    try {
      for (let g = 0; next; g++) {
        const ids = await next;
        next = list(g + 1);
        progress.missing += ids.length;
        const size = this.#init.envelopesPerRequest ?? PER_REQUEST;
        const chunks = Array.from({ length: Math.ceil(ids.length / size) }, (_, i) => ids.slice(i * size, (i + 1) * size));
        const requested = { requested: 0 };
        for await (const envelopes of this.#replies(peer, chunks, budget, requested, halt)) {
          if (invalid.length > 0) throw invalidEnvelopes(invalid);
          yield envelopes;
        }
        if (requested.requested < chunks.length) {
          progress.complete = false;
          return;
        }
      }
    } finally {
      unused.abort();
      await next?.catch(() => undefined);
    }
  }

  /**
   * The ids the peer has in `buckets` that we lack and have not refused, read frame by frame and
   * held to `maxIds`; `progress.refusedBefore` counts those skipped as refused.
   */
  async #missing(peer: PeerId, buckets: number[], maxIds: number, budget: RoundBudget, refused: RefusedIds, progress: { refusedBefore: number }, cancel?: AbortSignal): Promise<Uint8Array[]> {
    const asked = new Set(buckets);
    const missing: Uint8Array[] = [];
    let ids = 0;
    for await (const frame of this.#frames(peer, { type: FrameType.hashesRequest, buckets }, FrameType.hashes, budget, true, cancel)) {
      ids += frame.ids.length;
      if (ids > maxIds) throw new Misbehaviour('idsPerReply', `sync hashes: expected at most ${maxIds} ids in a reply, got ${ids}`);
      for (const id of frame.ids) {
        if (!asked.has(id[0]!)) throw new Misbehaviour('reply', `sync hashes: expected ids of buckets ${buckets.join(',')}, got one of bucket ${id[0]}`);
        const hex = idHex(id);
        if (this.#init.index.lookup(hex)) continue;
        if (refused.has(hex)) progress.refusedBefore += 1;
        else missing.push(id.slice());
      }
    }
    return missing;
  }

  /**
   * One reply per chunk, in order, with up to `requestsInFlight` requests in flight: the next
   * ones are asked for while this reply is verified (transfer overlaps verification). No chunk
   * is requested whose worst-case reply, with those in flight, would pass the round's budget.
   * Requests still in flight when the generator is left early (a failure, misbehaviour) or the
   * round is halted are aborted, and it ends only once they have ended. `progress.requested` counts chunks asked for.
   */
  async *#replies(peer: PeerId, chunks: Uint8Array[][], budget: RoundBudget, progress: { requested: number }, halt: AbortSignal): AsyncGenerator<Uint8Array[]> {
    const window = this.#init.requestsInFlight ?? IN_FLIGHT;
    const unused = new AbortController();
    const cancel = AbortSignal.any([unused.signal, halt]);
    const inFlight: { chunk: Uint8Array[]; reply: Promise<Uint8Array[]> }[] = [];
    const affords = (next: Uint8Array[]) => {
      const asked = [...inFlight.map((f) => f.chunk), next];
      return budget.affords(asked.reduce((n, c) => n + worstReplyBytes(c.length), 0), asked.reduce((n, c) => n + c.length + 1, 0));
    };
    const fill = () => {
      while (progress.requested < chunks.length && inFlight.length < window && affords(chunks[progress.requested]!)) {
        const chunk = chunks[progress.requested]!;
        progress.requested += 1;
        const reply = this.#envelopes(peer, chunk, budget, cancel);
        reply.catch(() => undefined);
        inFlight.push({ chunk, reply });
      }
    };
    try {
      fill();
      while (inFlight.length > 0) {
        const envelopes = await inFlight[0]!.reply;
        inFlight.shift();
        fill();
        yield envelopes;
      }
    } finally {
      unused.abort();
      await Promise.allSettled(inFlight.map((f) => f.reply));
    }
  }

  /** The envelopes of one request, each checked against what was asked for. */
  async #envelopes(peer: PeerId, chunk: Uint8Array[], budget: RoundBudget, cancel?: AbortSignal): Promise<Uint8Array[]> {
    const wanted = new Set(chunk.map(idHex));
    const envelopes: Uint8Array[] = [];
    for await (const frame of this.#frames(peer, { type: FrameType.envelopesRequest, ids: chunk }, FrameType.envelopes, budget, true, cancel)) {
      for (const envelope of frame.envelopes) {
        if (!wanted.delete(idOf(envelopeHash(envelope)))) throw new Misbehaviour('reply', 'sync envelopes: expected envelopes asked for, got another');
        envelopes.push(envelope);
      }
    }
    this.counters.envelopesReceived += envelopes.length;
    return compact(envelopes);
  }

  /**
   * Sends one request on a new stream and yields the reply's frames as they arrive: one, or
   * frames until an end frame. Each frame read is charged to the round. `cancel` aborts it: the
   * round no longer wants the reply.
   */
  async *#frames<T extends FrameType>(peer: PeerId, request: Frame, expect: T, budget: RoundBudget, untilEnd: boolean, cancel?: AbortSignal): AsyncGenerator<FrameOf<T>> {
    const idle = this.#idle();
    const signal = cancel ? AbortSignal.any([idle.signal, cancel]) : idle.signal;
    let stream: Stream | undefined;
    try {
      stream = await this.#components.connectionManager.openStream(peer, this.protocol, { signal });
      this.counters.requests += 1;
      const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
      await this.#write(lp, request, idle);
      for (;;) {
        const bytes = (await lp.read({ signal })).subarray();
        idle.touch();
        budget.charge(bytes.length);
        const frame = this.#decode(bytes);
        if (frame.type === FrameType.end && untilEnd) break;
        if (frame.type === FrameType.error) throw new Error(`sync: the peer refused the request: ${frame.message}`);
        if (frame.type !== expect) throw new Misbehaviour('reply', `sync reply: expected frame type ${expect}, got ${frame.type}`);
        yield frame as FrameOf<T>;
        idle.touch();
        if (!untilEnd) break;
      }
      await stream.close({ signal });
    } catch (error) {
      stream?.abort(error as Error);
      throw idle.blame(error);
    } finally {
      idle.clear();
    }
  }

  /** Answers one request; a peer that sends garbage or stalls is disconnected and banned. */
  async #serve(stream: Stream, connection: Connection): Promise<void> {
    const idle = this.#idle();
    const { signal } = idle;
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
    const open = (this.#inbound.get(connection.id) ?? 0) + 1;
    this.#inbound.set(connection.id, open);
    try {
      const limit = this.#init.maxInboundStreams ?? MAX_STREAMS;
      if (open > limit) throw new Misbehaviour('streams', `sync: expected at most ${limit} streams open at once, got ${open}`);
      const request = this.#decode((await lp.read({ signal })).subarray());
      idle.touch();
      // Banned while connected (the gater keeps it from reconnecting): told so, not served.
      if (this.#bans.isBanned(connection.remotePeer)) await this.#write(lp, { type: FrameType.error, message: 'banned for misbehaviour' }, idle);
      // Until the index has loaded, its summary and hash lists are partial: the peer retries later.
      else if (!this.#init.index.ready) await this.#write(lp, { type: FrameType.error, message: 'not ready: the hash index is loading' }, idle);
      else await this.#answer(lp, request, idle);
      await stream.close({ signal });
    } catch (caught) {
      const error = idle.blame(caught) as Error;
      stream.abort(error);
      if (error instanceof Misbehaviour) await this.#drop(connection.remotePeer, error);
      else this.#log('sync.serve_failed', { peer: connection.remotePeer.toString(), error: error.message });
    } finally {
      idle.clear();
      const left = this.#inbound.get(connection.id)! - 1;
      if (left === 0) this.#inbound.delete(connection.id);
      else this.#inbound.set(connection.id, left);
    }
  }

  async #answer(lp: Lp, request: Frame, idle: Idle): Promise<void> {
    switch (request.type) {
      case FrameType.summaryRequest:
        return this.#write(lp, { type: FrameType.summary, summary: this.#init.index.summary }, idle);
      case FrameType.hashesRequest:
        return this.#sendHashes(lp, request.buckets, idle);
      case FrameType.envelopesRequest:
        return this.#sendEnvelopes(lp, request.ids.map(idHex), idle);
      default:
        throw new Misbehaviour('reply', `sync request: expected a request frame, got type ${request.type}`);
    }
  }

  #idle(): Idle {
    return new Idle(this.#init.timeoutMs ?? 15_000);
  }

  async #sendHashes(lp: Lp, buckets: number[], idle: Idle): Promise<void> {
    const perFrame = MAX_IDS_PER_FRAME;
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

  /** Reads from the store a frame's worth at a time, so a 2048-id request holds 1 MiB, not 128. */
  async #sendEnvelopes(lp: Lp, ids: string[], idle: Idle): Promise<void> {
    const hashes = ids.map((id) => this.#init.index.lookup(id)).filter((h): h is string => h !== undefined);
    const perRead = Math.floor(MAX_FRAME_BYTES / (ENTRY_OVERHEAD + MAX_ENVELOPE_BYTES));
    let batch: Uint8Array[] = [];
    let size = FRAME_OVERHEAD;
    for (let i = 0; i < hashes.length; i += perRead) {
      for (const envelope of await this.#init.store.getMany(hashes.slice(i, i + perRead))) {
        if (!envelope) continue;
        if (size + ENTRY_OVERHEAD + envelope.length > MAX_FRAME_BYTES) {
          await this.#write(lp, { type: FrameType.envelopes, envelopes: batch }, idle);
          batch = [];
          size = FRAME_OVERHEAD;
        }
        batch.push(envelope);
        size += ENTRY_OVERHEAD + envelope.length;
      }
    }
    if (batch.length > 0) await this.#write(lp, { type: FrameType.envelopes, envelopes: batch }, idle);
    await this.#write(lp, { type: FrameType.end }, idle);
  }

  /** Writes one frame; lpStream's write waits for the stream to drain when it is full. */
  async #write(lp: Lp, frame: Frame, idle: Idle): Promise<void> {
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
      if (error instanceof ProtocolError) throw new Misbehaviour('frame', error.message);
      throw error;
    }
  }

  async #drop(peer: PeerId, error: Misbehaviour): Promise<void> {
    const banMs = this.#init.banMs ?? 600_000;
    this.counters.peersDropped += 1;
    this.#bans.ban(peer, banMs);
    this.#log('sync.peer_dropped', { peer: peer.toString(), bound: error.bound, reason: error.message, banMs });
    await this.#components.connectionManager.closeConnections(peer).catch(() => undefined);
  }
}

/**
 * The envelopes copied into one buffer of their own: they no longer hold the frames they were
 * read from alive, and a worker is sent their bytes only (a view is sent with its whole buffer).
 */
function compact(envelopes: Uint8Array[]): Uint8Array[] {
  const buffer = new Uint8Array(envelopes.reduce((n, e) => n + e.length, 0));
  let offset = 0;
  return envelopes.map((envelope) => {
    buffer.set(envelope, offset);
    offset += envelope.length;
    return buffer.subarray(offset - envelope.length, offset);
  });
}

type Refusal = { code: string; error: string };

/**
 * The verifier of synced envelopes: each refusal other than UNKNOWN_SIGNER (a key we do not
 * trust, not the peer's fault) goes into `invalid` and calls `onInvalid`: the peer is misbehaving.
 * Honest nodes serve the canonical bytes they store (DESIGN section 4); re-encoded bytes are
 * the sender's doing, refused as NOT_CANONICAL. The pipeline's one parse tells already: an
 * envelope whose canonical form under our keys is the bytes received is canonical. Only the
 * others, envelopes with signatures by keys we do not know (dropped from our canonical form) or
 * by no key we know, are checked by structure (isCanonicalForm, a second parse). A canonical
 * envelope of no key we trust goes into `refused`, so later rounds do not fetch it again.
 */
function screened(verify: BatchVerifier, invalid: Refusal[], onInvalid: () => void, refused: RefusedIds): BatchVerifier {
  return async (batch, where) => (await verify(batch, where)).map((checked, i) => {
    const received = batch[i]!;
    const verified = 'votes' in checked;
    let result: Checked = checked;
    if (verified ? !Buffer.from(checked.bytes.buffer, checked.bytes.byteOffset, checked.bytes.length).equals(received) : checked.code === 'UNKNOWN_SIGNER') {
      if (!isCanonicalForm(received)) result = { code: 'NOT_CANONICAL', error: `${where}: expected envelopes in canonical form (DESIGN section 4), got re-encoded bytes` };
    }
    if ('votes' in result) return result;
    if (result.code === 'UNKNOWN_SIGNER') {
      refused.add(idOf(envelopeHash(received)));
    } else {
      invalid.push(result);
      onInvalid();
    }
    return result;
  });
}

function invalidEnvelopes(invalid: Refusal[]): Misbehaviour {
  return new Misbehaviour('envelope', `sync envelopes: expected valid envelopes, got ${invalid.length} invalid: ${invalid[0]!.error}`);
}

/** The sync service factory for `createLibp2p({ services: { sync: attestationSync(init) } })`. */
export function attestationSync(init: SyncInit): (components: SyncComponents) => AttestationSync {
  return (components) => new AttestationSync(components, init);
}
