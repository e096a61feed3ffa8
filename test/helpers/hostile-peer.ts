/**
 * A hostile stagex-node peer, run as its own process (test/helpers/flooder.ts starts it): a
 * real libp2p node on the daemon's stack (tcp, noise, yamux, identify, gossipsub with the
 * daemon's options, GOSSIPSUB_OPTIONS in daemon/net/peer.ts, unscored) that dials the honest
 * daemons and, for `durationMs`, runs the attacks named:
 *   gossip (from the start, up to `rate` messages/s each, to every peer): variants, keyless, badsig,
 *     unknown, oversize, garbage (test/helpers/hostile-envelopes.ts);
 *   sync as a client (from `syncAfterMs`, per connected target, one attempt of each at a time):
 *     sync-garbage (an unknown frame type), sync-oversize (a 2 MiB length prefix),
 *     sync-slowloris (half a length prefix, then silence), sync-streams (16 streams at once,
 *     replies never read), sync-huge-list (2048-id envelope requests and all-bucket hash
 *     requests), sync-endless-ids (id frames as a request, never ending);
 *   sync as a server (to honest nodes that sync with it): sync-serve-variants (re-encodings of
 *     the public attestation, ids and all: they verify, so only deduplication stops them),
 *     and from `syncAfterMs` sync-serve-endless (a summary differing everywhere, endless id
 *     frames, envelopes nobody asked for).
 * It re-dials every target that is not connected each second. Prints JSON lines on stdout:
 * started, connected, disconnected, dial_refused, sent (cumulative counts every 5 s), done.
 * Usage: node test/helpers/hostile-peer.ts '<FlooderOptions as JSON>'
 */
import { randomBytes } from 'node:crypto';
import { createLibp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@libp2p/yamux';
import { identify } from '@libp2p/identify';
import { gossipsub } from '@libp2p/gossipsub';
import { lpStream } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import type { PeerId, Stream } from '@libp2p/interface';
import { envelopeSchema, envelopeHash } from '../../protocol/dsse.ts';
import { BucketSummary, decodeFrame, encodeFrame, FrameType, ID_BYTES, MAX_FRAME_BYTES, MAX_REQUEST_HASHES } from '../../protocol/sync.ts';
import { attestationTopic } from '../../daemon/net/gossip.ts';
import { syncProtocol } from '../../daemon/net/sync.ts';
import { GOSSIPSUB_OPTIONS } from '../../daemon/net/peer.ts';
import { flooderOptionsSchema, GOSSIP_ATTACKS, type Attack } from './flooder-options.ts';
import { forged, garbage, keyless, oversize, randomKeyid, variant } from './hostile-envelopes.ts';

const options = flooderOptionsSchema.parse(JSON.parse(process.argv[2] ?? '{}'));
const envelope = envelopeSchema.parse(JSON.parse(Buffer.from(options.envelope, 'base64').toString('utf8')));
const trustedKeyid = envelope.signatures[0]!.keyid!;
const started = Date.now();
const say = (event: string, fields: Record<string, unknown> = {}) => process.stdout.write(JSON.stringify({ t: Date.now() - started, event, ...fields }) + '\n');
const attacks = new Set<Attack>(options.attacks);
const sent: Record<string, number> = {};
const count = (what: string, n = 1) => { sent[what] = (sent[what] ?? 0) + n; };
const syncing = () => Date.now() - started >= options.syncAfterMs;

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: {
    identify: identify(),
    pubsub: gossipsub(GOSSIPSUB_OPTIONS),
  },
});
const topic = attestationTopic(options.networkId);
const protocol = syncProtocol(options.networkId);
node.services.pubsub.subscribe(topic);
say('started', { peerId: node.peerId.toString(), attacks: [...attacks] });

const targets = options.targets.map((t) => ({ addr: multiaddr(t), peerId: multiaddr(t).getComponents().find((c) => c.name === 'p2p')!.value! }));
const connected = () => new Set(node.getConnections().map((c) => c.remotePeer.toString()));
node.addEventListener('peer:connect', (event) => say('connected', { peer: event.detail.toString() }));
node.addEventListener('peer:disconnect', (event) => say('disconnected', { peer: event.detail.toString() }));

async function redial(): Promise<void> {
  const now = connected();
  await Promise.all(targets.filter((t) => !now.has(t.peerId)).map(async (t) => {
    try {
      await node.dial(t.addr, { signal: AbortSignal.timeout(5000) });
    } catch (error) {
      say('dial_refused', { peer: t.peerId, error: (error as Error).message });
    }
  }));
}

// --- gossip ---------------------------------------------------------------------------------

let n = 0;
function gossipMessage(attack: Attack): Uint8Array {
  n += 1;
  switch (attack) {
    case 'variants': return variant(envelope, n);
    case 'keyless': return keyless(envelope, n);
    case 'badsig': return forged(envelope, trustedKeyid, n);
    case 'unknown': return forged(envelope, randomKeyid(), n);
    case 'oversize': return oversize(envelope, n);
    default: return garbage(n);
  }
}

/** One tick's messages of every gossip attack, published at once (a failed publish is counted, not retried). */
async function gossipTick(perTick: number): Promise<void> {
  await Promise.all(GOSSIP_ATTACKS.filter((a) => attacks.has(a)).flatMap((attack) => Array.from({ length: perTick }, () => gossipMessage(attack)).map((data) =>
    node.services.pubsub.publish(topic, data).then(() => count(attack), () => count(`${attack}.failed`)))));
}

// --- sync as a client -----------------------------------------------------------------------

/** Resolves when the peer (or libp2p) has closed the stream: we never do. */
const hold = (stream: Stream) => new Promise<void>((resolve) => {
  if (stream.status !== 'open') resolve();
  stream.addEventListener('close', () => resolve());
});

async function open(peer: PeerId): Promise<Stream> {
  return node.dialProtocol(peer, protocol, { signal: AbortSignal.timeout(5000) });
}

/** One attempt of a sync attack against one peer; settles when the peer is done with it (rejects when it cut the stream). */
async function syncAttack(attack: Attack, peer: PeerId): Promise<void> {
  switch (attack) {
    case 'sync-garbage': {
      const stream = await open(peer);
      await lpStream(stream).write(Uint8Array.of(99, 1, 2, 3));
      return hold(stream);
    }
    case 'sync-oversize': {
      const stream = await open(peer);
      const prefix = Uint8Array.of(0x80, 0x80, 0x80, 0x01); // varint 2 MiB
      stream.send(prefix);
      stream.send(new Uint8Array(64 * 1024));
      return hold(stream);
    }
    case 'sync-slowloris': {
      const stream = await open(peer);
      stream.send(Uint8Array.of(0x80));
      return hold(stream);
    }
    case 'sync-streams': {
      const streams = await Promise.allSettled(Array.from({ length: 16 }, () => open(peer)));
      const opened = streams.filter((s) => s.status === 'fulfilled').map((s) => s.value);
      count('sync-streams.opened', opened.length);
      await Promise.all(opened.map((s) => lpStream(s).write(encodeFrame({ type: FrameType.summaryRequest })).catch(() => undefined)));
      await Promise.all(opened.map(hold));
      return;
    }
    case 'sync-huge-list': {
      const ids = Array.from({ length: MAX_REQUEST_HASHES }, () => new Uint8Array(randomBytes(ID_BYTES)));
      for (const request of [encodeFrame({ type: FrameType.envelopesRequest, ids }), encodeFrame({ type: FrameType.hashesRequest, buckets: Array.from({ length: 256 }, (_, b) => b) })]) {
        const stream = await open(peer);
        const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
        await lp.write(request);
        for (;;) {
          const frame = decodeFrame((await lp.read()).subarray());
          if (frame.type === FrameType.end) break;
        }
        await stream.close();
      }
      return;
    }
    default: { // sync-endless-ids
      const stream = await open(peer);
      const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
      for (;;) { // until a write fails: the peer closed the stream
        await lp.write(encodeFrame({ type: FrameType.hashes, ids: Array.from({ length: 1000 }, () => new Uint8Array(randomBytes(ID_BYTES))) }));
        count('sync-endless-ids.frames');
      }
    }
  }
}

/** Per target and attack, at most one attempt in flight; started at most `rate` times a second. */
const inFlight = new Set<string>();
function syncTick(): void {
  if (!syncing()) return;
  for (const connection of node.getConnections()) {
    const peer = connection.remotePeer;
    for (const attack of options.attacks.filter((a) => a.startsWith('sync-') && !a.startsWith('sync-serve'))) {
      const key = `${peer} ${attack}`;
      if (inFlight.has(key)) continue;
      inFlight.add(key);
      count(attack);
      syncAttack(attack, peer).catch(() => count(`${attack}.cut`)).finally(() => inFlight.delete(key));
    }
  }
}

// --- sync as a server -----------------------------------------------------------------------

/** Re-encodings of the public attestation with their hashes, by bucket: what we "have". */
const served = Array.from({ length: options.servedVariants }, (_, i) => variant(envelope, i)).map((bytes) => ({ bytes, hash: Buffer.from(envelopeHash(bytes), 'hex') }));
const servedSummary = new BucketSummary();
served.forEach((s) => servedSummary.add(s.hash));
const endless = () => syncing() && attacks.has('sync-serve-endless');

await node.handle(protocol, async (stream) => {
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
  try {
    const request = decodeFrame((await lp.read()).subarray());
    count(`serve.${request.type}`);
    if (request.type === FrameType.summaryRequest) {
      const summary = new BucketSummary();
      if (endless()) for (let b = 0; b < 256; b++) summary.add(Uint8Array.of(b, ...randomBytes(31)));
      await lp.write(encodeFrame({ type: FrameType.summary, summary: endless() ? summary : servedSummary }));
    } else if (request.type === FrameType.hashesRequest) {
      if (endless()) {
        for (;;) {
          await lp.write(encodeFrame({ type: FrameType.hashes, ids: Array.from({ length: 1000 }, (_, i) => Uint8Array.of(request.buckets[i % request.buckets.length]!, ...randomBytes(ID_BYTES - 1))) }));
          count('serve.endless-ids.frames');
        }
      }
      const ids = served.filter((s) => request.buckets.includes(s.hash[0]!)).map((s) => s.hash.subarray(0, ID_BYTES));
      if (ids.length > 0) await lp.write(encodeFrame({ type: FrameType.hashes, ids }));
      await lp.write(encodeFrame({ type: FrameType.end }));
    } else if (request.type === FrameType.envelopesRequest) {
      const wanted = new Set(request.ids.map((id) => Buffer.from(id).toString('hex')));
      const envelopes = endless() ? served.slice(0, 8).map((s) => s.bytes) : served.filter((s) => wanted.has(s.hash.subarray(0, ID_BYTES).toString('hex'))).map((s) => s.bytes);
      count('serve.variants', envelopes.length);
      if (envelopes.length > 0) await lp.write(encodeFrame({ type: FrameType.envelopes, envelopes }));
      await lp.write(encodeFrame({ type: FrameType.end }));
    }
    await stream.close();
  } catch (error) {
    stream.abort(error as Error);
  }
}, { maxInboundStreams: 64 });

// --- the schedule ---------------------------------------------------------------------------

await redial();
const ticksPerSecond = 20;
const perTick = Math.max(1, Math.round(options.rate / ticksPerSecond));
let busy = false;
const timers = [
  setInterval(() => void redial(), 1000),
  setInterval(() => {
    if (busy) return;
    busy = true;
    void gossipTick(perTick).finally(() => { busy = false; });
  }, 1000 / ticksPerSecond),
  setInterval(syncTick, Math.max(50, 1000 / options.rate)),
  setInterval(() => say('sent', { sent }), 5000),
];
await new Promise((r) => setTimeout(r, options.durationMs));
timers.forEach(clearInterval);
say('done', { sent, connected: [...connected()] });
await node.stop();
process.exit(0);
