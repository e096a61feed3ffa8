import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { lpStream } from '@libp2p/utils';
import type { Stream } from '@libp2p/interface';
import { AttestationStore } from '../../../store/store.ts';
import { readAttestation, type Attestation } from '../../../protocol/attestation.ts';
import { BucketSummary, decodeFrame, encodeFrame, FrameType, MAX_FRAME_BYTES } from '../../../protocol/sync.ts';
import { HashIndex } from '../../../daemon/net/hash-index.ts';
import { Bans } from '../../../daemon/net/bans.ts';
import { attestationSync, syncProtocol, type SyncInit } from '../../../daemon/net/sync.ts';
import { envelopeBytes, hex64, policyOf, signer, signers } from '../../helpers/fixtures.ts';
import { variant } from '../../helpers/hostile-envelopes.ts';
import { parseEnvelope } from '../../../protocol/dsse.ts';
import { createHash } from 'node:crypto';
import { stubPair } from '../../helpers/stream-network.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { gatedIndexStore } from '../../helpers/gated-index-store.ts';
import { until } from '../../../scripts/local-network.ts';

const keys = signers(2);
const policy = policyOf(1, keys);
const protocol = syncProtocol('test');

interface Logged { event: string; fields: Record<string, unknown> }

async function openStore(): Promise<{ store: AttestationStore; index: HashIndex }> {
  const store = await AttestationStore.open(join(tempDir('stagex-sync'), 'db'));
  return { store, index: await HashIndex.load(store) };
}

/**
 * A hostile sync server: a summary claiming bucket 0 holds 1,000 envelopes, then, for the hash
 * list, frames of 4,096 ids of bucket 0 for as long as the stream lets it write.
 */
async function endlessIds(stream: Stream): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
  try {
    const request = decodeFrame((await lp.read()).subarray());
    if (request.type === FrameType.summaryRequest) {
      const summary = new BucketSummary();
      summary.counts[0] = 1000;
      await lp.write(encodeFrame({ type: FrameType.summary, summary }));
      return;
    }
    const ids = Array.from({ length: 4096 }, (_, i) => Uint8Array.of(0, 0, 0, 0, i >> 8, i & 255, 1, 2));
    for (;;) await lp.write(encodeFrame({ type: FrameType.hashes, ids }));
  } catch {
    // aborted by the victim: the point of the exercise
  }
}

/**
 * A hostile sync server that offers, and then serves, re-encoded bytes of one public
 * attestation: each verifies and reduces to the canonical envelope, which only costs the
 * victim parsing and a verification.
 */
async function servesVariant(stream: Stream, bytes: Uint8Array): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
  const hash = createHash('sha256').update(bytes).digest();
  try {
    const request = decodeFrame((await lp.read()).subarray());
    if (request.type === FrameType.summaryRequest) {
      const summary = new BucketSummary();
      summary.add(hash);
      await lp.write(encodeFrame({ type: FrameType.summary, summary }));
    } else if (request.type === FrameType.hashesRequest) {
      await lp.write(encodeFrame({ type: FrameType.hashes, ids: [hash.subarray(0, 8)] }));
      await lp.write(encodeFrame({ type: FrameType.end }));
    } else if (request.type === FrameType.envelopesRequest) {
      await lp.write(encodeFrame({ type: FrameType.envelopes, envelopes: [bytes] }));
      await lp.write(encodeFrame({ type: FrameType.end }));
    }
  } catch {
    // cut off by the victim
  }
}

/**
 * A hostile sync server holding `bytes` (an invalid envelope) and 3 more ids: it serves the
 * invalid envelope, and never answers a request for the others.
 */
async function invalidThenSilent(stream: Stream, bytes: Uint8Array): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
  const hashes = [createHash('sha256').update(bytes).digest(), ...[1, 2, 3].map((i) => createHash('sha256').update(`silent ${i}`).digest())];
  try {
    const request = decodeFrame((await lp.read()).subarray());
    if (request.type === FrameType.summaryRequest) {
      const summary = new BucketSummary();
      for (const hash of hashes) summary.add(hash);
      await lp.write(encodeFrame({ type: FrameType.summary, summary }));
    } else if (request.type === FrameType.hashesRequest) {
      await lp.write(encodeFrame({ type: FrameType.hashes, ids: hashes.map((h) => h.subarray(0, 8)) }));
      await lp.write(encodeFrame({ type: FrameType.end }));
    } else if (request.type === FrameType.envelopesRequest && Buffer.from(request.ids[0]!).equals(hashes[0]!.subarray(0, 8))) {
      await lp.write(encodeFrame({ type: FrameType.envelopes, envelopes: [bytes] }));
      await lp.write(encodeFrame({ type: FrameType.end }));
    } else {
      await new Promise((resolve) => stream.addEventListener('close', resolve));
    }
  } catch {
    // cut off by the victim
  }
}

/** A round of a fresh node against an `endlessIds` peer; the node's sync is stopped after it. */
async function againstEndlessIds(stores: AttestationStore[], init: Partial<SyncInit> = {}) {
  const [victim, hostile] = await stubPair();
  await hostile.components.registrar.handle(protocol, (stream) => void endlessIds(stream));
  const { store, index } = await openStore();
  stores.push(store);
  const events: Logged[] = [];
  const sync = attestationSync({ networkId: 'test', policy, store, index, intervalMs: 60_000, ...init, log: (event, fields) => events.push({ event, fields }) })(victim.components);
  await sync.start();
  const before = process.memoryUsage().heapUsed;
  await sync.syncWith(hostile.peerId);
  const grown = process.memoryUsage().heapUsed - before;
  return { victim, hostile, sync, events, grown };
}

describe('Sync, driven over in-memory stream pairs', () => {
  const stores: AttestationStore[] = [];
  after(async () => {
    for (const store of stores) await store.close();
  });

  /** Two connected stub peers: the holder with a store of `envelopes`, the late one with an empty store. */
  async function holderAndLate(envelopes: readonly Attestation[] = []) {
    const [holder, late] = await stubPair();
    const full = await openStore();
    const empty = await openStore();
    stores.push(full.store, empty.store);
    if (envelopes.length > 0) await full.store.putMany(envelopes);
    return { holder, late, full, empty };
  }

  describe('when a peer answers a hash list request with endless id frames', () => {
    it('cuts it off at maxIdsPerReply with memory flat, logs the bound, disconnects and bans it', async () => {
      const { victim, hostile, sync, events, grown } = await againstEndlessIds(stores);
      const dropped = events.filter((e) => e.event === 'sync.peer_dropped');
      assert.equal(dropped.length, 1);
      assert.equal(dropped[0]!.fields.bound, 'idsPerReply');
      assert.equal(dropped[0]!.fields.peer, hostile.peerId.toString());
      assert.deepEqual(victim.hungUp.map(String), [hostile.peerId.toString()]);
      assert.ok(grown < 64 * 1024 * 1024, `heap grew by ${grown} bytes`);
      assert.ok(sync.counters.bytesIn < 1024 * 1024, `read ${sync.counters.bytesIn} bytes before cutting it off`);
      const dials = victim.dials();
      await sync.syncWith(hostile.peerId);
      assert.equal(victim.dials(), dials, 'a banned peer is not asked again');
      assert.equal(events.filter((e) => e.event === 'sync.failed').length, 0, 'misbehaviour is not a round to retry');
      await sync.stop();
    });
  });

  describe('when a peer sends more frames than a round allows', () => {
    it('cuts it off at maxFramesPerRound', async () => {
      const { sync, events } = await againstEndlessIds(stores, { maxFramesPerRound: 3, maxIdsPerReply: 1_000_000 });
      await sync.stop();
      assert.deepEqual(events.filter((e) => e.event === 'sync.peer_dropped').map((e) => e.fields.bound), ['framesPerRound']);
    });
  });

  describe('when the peer has banned us while we are still connected', () => {
    it('answers with an error frame: a failed round to retry later, not misbehaviour', async () => {
      const { holder, late, full, empty } = await holderAndLate();
      const bans = new Bans();
      bans.ban(late.peerId, 60_000);
      const events: Logged[] = [];
      const serving = attestationSync({ networkId: 'test', policy, store: full.store, index: full.index, bans, intervalMs: 60_000 })(holder.components);
      const catching = attestationSync({ networkId: 'test', policy, store: empty.store, index: empty.index, intervalMs: 60_000, retryMs: 60_000, log: (event, fields) => events.push({ event, fields }) })(late.components);
      await serving.start();
      await catching.start();
      await catching.syncWith(holder.peerId);
      await catching.stop();
      await serving.stop();
      assert.deepEqual(events.map((e) => e.event), ['sync.failed']);
      assert.match(String(events[0]!.fields.error), /the peer refused the request: banned for misbehaviour/);
      assert.deepEqual(late.hungUp, []);
    });
  });

  describe('when the peer holds 1,000 envelopes of 63 KB', () => {
    it('syncs them all in one round, reply by reply, without overflowing a read buffer', async () => {
      const sources = Array.from({ length: 23 }, (_, i) => ({ uri: `https://example.org/${'a'.repeat(1900)}/${i}.tar`, sha256: hex64(`source ${i}`) }));
      const many = Array.from({ length: 1000 }, (_, i) => readAttestation(envelopeBytes(keys[i % 2]!, { image: `core-p${i}`, sources }), policy, 'test'));
      assert.ok(many.every((a) => a.bytes.length > 63_000 && a.bytes.length <= 64 * 1024));
      const { holder, late, full, empty } = await holderAndLate(many);
      const events: Logged[] = [];
      const serving = attestationSync({ networkId: 'test', policy, store: full.store, index: await HashIndex.load(full.store), intervalMs: 60_000, log: (event, fields) => events.push({ event, fields }) })(holder.components);
      const catching = attestationSync({ networkId: 'test', policy, store: empty.store, index: empty.index, intervalMs: 60_000, log: (event, fields) => events.push({ event, fields }) })(late.components);
      await serving.start();
      await catching.start();
      await catching.syncWith(holder.peerId);
      await catching.stop();
      await serving.stop();
      assert.deepEqual(events.filter((e) => e.event !== 'sync.round').map((e) => e.event), [], 'nothing failed or was dropped');
      assert.equal(catching.counters.rounds, 1);
      assert.equal(catching.counters.envelopesAdded, 1000);
      assert.equal(await empty.store.count(), 1000);
    });
  });

  describe('when the serving node\'s hash index is still loading', () => {
    it('refuses with "not ready" (the asker retries, no one is dropped), then serves once it has loaded', async () => {
      const many = Array.from({ length: 20 }, (_, i) => readAttestation(envelopeBytes(keys[0]!, { image: `core-p${i}` }), policy, 'test'));
      const { holder, late, full, empty } = await holderAndLate(many);
      const gated = gatedIndexStore(many);
      const index = HashIndex.open(gated.store);
      const events: Logged[] = [];
      const log = (event: string, fields: Record<string, unknown>) => void events.push({ event, fields });
      const serving = attestationSync({ networkId: 'test', policy, store: full.store, index, intervalMs: 60_000, log })(holder.components);
      const catching = attestationSync({ networkId: 'test', policy, store: empty.store, index: empty.index, intervalMs: 60_000, retryMs: 60_000, log })(late.components);
      await serving.start();
      await catching.start();
      await catching.syncWith(holder.peerId);
      assert.deepEqual(events.map((e) => e.event), ['sync.failed']);
      assert.match(String(events[0]!.fields.error), /the peer refused the request: not ready: the hash index is loading/);
      assert.deepEqual(late.hungUp, []);
      assert.deepEqual(holder.hungUp, []);
      assert.equal(await empty.store.count(), 0);
      gated.release();
      await index.loaded;
      await catching.syncWith(holder.peerId);
      await catching.stop();
      await serving.stop();
      assert.equal(await empty.store.count(), many.length);
    });
  });

  describe('when the peer holds more than one round may fetch', () => {
    it('stops each round at its budget with several requests in flight, and starts the next at once, not at the interval', async () => {
      const many = Array.from({ length: 600 }, (_, i) => readAttestation(envelopeBytes(keys[i % 2]!, { image: `core-r${i}` }), policy, 'test'));
      const { holder, late, full, empty } = await holderAndLate(many);
      const events: Logged[] = [];
      const log = (event: string, fields: Record<string, unknown>) => events.push({ event, fields });
      const serving = attestationSync({ networkId: 'test', policy, store: full.store, index: await HashIndex.load(full.store), intervalMs: 600_000, log })(holder.components);
      // A reply is 4 envelopes, of 64 KiB at worst: 2 fit in flight under 0.75 MiB, and a round
      // ends once its bytes (1.4 KB an envelope) leave no room for one: about 370 envelopes.
      const catching = attestationSync({ networkId: 'test', policy, store: empty.store, index: empty.index, intervalMs: 600_000, envelopesPerRequest: 4, requestsInFlight: 4, maxBytesPerRound: 0.75 * 1024 * 1024, log })(late.components);
      await serving.start();
      await catching.start();
      await catching.syncWith(holder.peerId);
      await until('every envelope is stored', async () => (await empty.store.count()) === many.length, 60_000);
      await until('the last round has ended', () => events.filter((e) => e.event === 'sync.round').length === catching.counters.rounds, 60_000);
      await catching.stop();
      await serving.stop();
      const reached = events.filter((e) => e.event === 'sync.round_budget_reached');
      assert.ok(reached.length >= 1 && reached.every((e) => e.fields.next === 'now'), JSON.stringify(events));
      assert.equal(catching.counters.rounds, reached.length + 1);
      assert.equal(catching.counters.envelopesAdded, many.length);
      assert.deepEqual(events.filter((e) => !['sync.round', 'sync.round_budget_reached'].includes(e.event)), [], 'nothing failed or was dropped');
    });
  });

  describe('when the peer holds envelopes of a key this node does not trust', () => {
    it('fetches them once, not again each round, and again once a reload trusts the key', async () => {
      const stranger = signer(7);
      const wider = policyOf(1, [...keys, stranger]);
      const trusted = Array.from({ length: 5 }, (_, i) => readAttestation(envelopeBytes(keys[i % 2]!, { image: `core-t${i}` }), wider, 'test'));
      const strangers = Array.from({ length: 7 }, (_, i) => readAttestation(envelopeBytes(stranger, { image: `core-s${i}` }), wider, 'test'));
      const { holder, late, full, empty } = await holderAndLate([...trusted, ...strangers]);
      const rounds: Record<string, unknown>[] = [];
      const serving = attestationSync({ networkId: 'test', policy: wider, store: full.store, index: await HashIndex.load(full.store), intervalMs: 600_000 })(holder.components);
      const catching = attestationSync({ networkId: 'test', policy, store: empty.store, index: empty.index, intervalMs: 600_000, log: (event, fields) => void (event === 'sync.round' && rounds.push(fields)) })(late.components);
      await serving.start();
      await catching.start();
      try {
        await catching.syncWith(holder.peerId);
        assert.deepEqual([rounds[0]?.added, rounds[0]?.unknownSigner], [5, 7]);
        assert.equal(catching.counters.envelopesReceived, 12);
        await catching.syncWith(holder.peerId);
        assert.equal(catching.counters.rounds, 2);
        assert.equal(catching.counters.envelopesReceived, 12, 'the second round asked for none of them');
        await catching.setPolicy(wider);
        assert.deepEqual([rounds.at(-1)?.added, rounds.at(-1)?.refusedBefore], [7, 0], 'the reload started a new list');
        assert.equal(await empty.store.count(), 12);
      } finally {
        await catching.stop();
        await serving.stop();
      }
    });
  });

  describe('when a peer serves re-encoded bytes of an attestation (not its canonical form)', () => {
    it('takes it as misbehaviour: the peer is dropped and banned, nothing is stored', async () => {
      const canonical = envelopeBytes(keys[0]!, { image: 'core-variant' });
      const bytes = variant(parseEnvelope(canonical, 'test'), 0);
      const [victim, hostile] = await stubPair();
      await hostile.components.registrar.handle(protocol, (stream) => void servesVariant(stream, bytes));
      const { store, index } = await openStore();
      stores.push(store);
      const events: Logged[] = [];
      const sync = attestationSync({ networkId: 'test', policy, store, index, intervalMs: 60_000, log: (event, fields) => events.push({ event, fields }) })(victim.components);
      await sync.start();
      await sync.syncWith(hostile.peerId);
      await sync.stop();
      const dropped = events.filter((e) => e.event === 'sync.peer_dropped');
      assert.equal(dropped.length, 1, JSON.stringify(events));
      assert.match(String(dropped[0]!.fields.reason), /canonical form/);
      assert.deepEqual(victim.hungUp.map(String), [hostile.peerId.toString()]);
      assert.equal(await store.count(), 0);
    });
  });

  describe('when a peer serves an invalid envelope while its other replies hang', () => {
    it('drops and bans it once the envelope is verified, aborting the requests still in flight', { timeout: 30_000 }, async () => {
      const valid = envelopeBytes(keys[0]!, { image: 'core-badsig' });
      const envelope = parseEnvelope(valid, 'test');
      const sig = Buffer.from(envelope.signatures[0]!.sig, 'base64');
      sig[0]! ^= 1;
      const bytes = new Uint8Array(Buffer.from(JSON.stringify({ ...envelope, signatures: [{ ...envelope.signatures[0]!, sig: sig.toString('base64') }] })));
      const [victim, hostile] = await stubPair();
      await hostile.components.registrar.handle(protocol, (stream) => void invalidThenSilent(stream, bytes));
      const { store, index } = await openStore();
      stores.push(store);
      const events: Logged[] = [];
      // The hanging replies would hold the round for timeoutMs (10 min): the drop must not wait for them.
      const sync = attestationSync({ networkId: 'test', policy, store, index, intervalMs: 600_000, timeoutMs: 600_000, envelopesPerRequest: 1, log: (event, fields) => events.push({ event, fields }) })(victim.components);
      await sync.start();
      await sync.syncWith(hostile.peerId);
      await sync.stop();
      const dropped = events.filter((e) => e.event === 'sync.peer_dropped');
      assert.deepEqual(dropped.map((e) => e.fields.bound), ['envelope'], JSON.stringify(events));
      assert.match(String(dropped[0]!.fields.reason), /BAD_SIGNATURE|signature/);
      assert.deepEqual(victim.hungUp.map(String), [hostile.peerId.toString()]);
      assert.equal(await store.count(), 0);
    });
  });

  describe('when a peer opens more sync streams at once than it may', () => {
    it('takes the stream past maxInboundStreams as misbehaviour: dropped and banned', async () => {
      const [serving, hostile] = await stubPair();
      const { store, index } = await openStore();
      stores.push(store);
      const events: Logged[] = [];
      const sync = attestationSync({ networkId: 'test', policy, store, index, intervalMs: 60_000, timeoutMs: 60_000, maxInboundStreams: 2, log: (event, fields) => events.push({ event, fields }) })(serving.components);
      await sync.start();
      // Three streams that never send a request: the third is one too many.
      const streams = await Promise.all([0, 1, 2].map(() => hostile.components.connectionManager.openStream(serving.peerId, protocol)));
      const dropped = events.filter((e) => e.event === 'sync.peer_dropped');
      assert.deepEqual(dropped.map((e) => e.fields.bound), ['streams'], JSON.stringify(events));
      assert.match(String(dropped[0]!.fields.reason), /expected at most 2 streams open at once, got 3/);
      assert.deepEqual(serving.hungUp.map(String), [hostile.peerId.toString()]);
      for (const stream of streams) stream.abort(new Error('test over'));
      await sync.stop();
    });
  });
});
