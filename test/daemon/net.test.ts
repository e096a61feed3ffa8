import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { AttestationStore } from '../../store/store.ts';
import { readAttestation } from '../../protocol/attestation.ts';
import { startPeer, type RunningPeer } from '../../daemon/net/peer.ts';
import { attestationTopic, Gossip } from '../../daemon/net/gossip.ts';
import { retryDelay, Sync } from '../../daemon/net/sync.ts';
import { HashIndex } from '../../daemon/net/hash-index.ts';
import { Bans } from '../../daemon/net/bans.ts';
import { TopicValidatorResult, type TopicValidatorFn } from '@libp2p/gossipsub';
import type { Peer } from '../../daemon/net/peer.ts';
import { countingPolicy, envelopeBytes, hex64, policyOf, reshaped, signer, signers } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';
import { until as waitUntil } from '../../scripts/local-network.ts';

const keys = signers(3);
const policy = policyOf(2, keys);

/** A node and the gossip events it logged (refusals carry their code). */
interface TestNode { peer: RunningPeer; store: AttestationStore; gossip: Gossip; sync: Sync; index: HashIndex; addr: string; events: { event: string; code?: unknown }[] }

async function node(bootstrap: string[] = []): Promise<TestNode> {
  const store = await AttestationStore.open(join(tempDir('stagex-net'), 'db'));
  const index = await HashIndex.load(store);
  const peer = await startPeer({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap, redialIntervalMs: 500, topic: attestationTopic('test') });
  const events: TestNode['events'] = [];
  const gossip = new Gossip({ networkId: 'test', policy, store, log: (event, fields) => events.push({ event, code: fields.code }) });
  const sync = new Sync({ networkId: 'test', policy, store, index, intervalMs: 1000 });
  gossip.start(peer.node);
  await sync.start(peer.node);
  return { peer, store, gossip, sync, index, addr: peer.node.getMultiaddrs()[0]!.toString(), events };
}

/** Waits for a condition; the deadline is generous, for two cores shared with other runs. */
function until(check: () => Promise<boolean> | boolean, what: string, ms = 60_000): Promise<void> {
  return waitUntil(what, check, ms);
}

describe('the gossip topic validator, driven directly', () => {
  const stores: AttestationStore[] = [];
  after(async () => {
    for (const store of stores) await store.close();
  });

  /** A Gossip on a stub peer: the validator it registers, its store and its verification count. */
  async function validator() {
    const store = await AttestationStore.open(join(tempDir('stagex-gossip'), 'db'));
    stores.push(store);
    const validators = new Map<string, TopicValidatorFn>();
    const stub = { services: { pubsub: { topicValidators: validators, subscribe: () => {}, unsubscribe: () => {} } } } as unknown as Peer;
    const counted = countingPolicy(policy);
    const gossip = new Gossip({ networkId: 'test', policy: counted.policy, store });
    gossip.start(stub);
    const from = { toString: () => 'peer-under-test' } as Parameters<TopicValidatorFn>[0];
    const validate = (data: Uint8Array) => validators.get(gossip.topic)!(from, { type: 'unsigned', topic: gossip.topic, data });
    return { validate, store, calls: counted.calls };
  }

  it('accepts and stores a canonical envelope with one keyed signature; the same again is Ignored', async () => {
    const { validate, store } = await validator();
    const bytes = envelopeBytes(keys[0]!);
    assert.equal(await validate(bytes), TopicValidatorResult.Accept);
    assert.ok(await store.has(readAttestation(bytes, policy, 'test').hash));
    assert.equal(await validate(bytes), TopicValidatorResult.Ignore);
  });

  it('Ignores an unknown keyid and Rejects a keyless signature, several signatures or non-canonical bytes, with no verification', async () => {
    const { validate, store, calls } = await validator();
    const bytes = envelopeBytes(keys[0]!);
    assert.equal(await validate(envelopeBytes(signer(77))), TopicValidatorResult.Ignore);
    for (const invalid of [
      reshaped(bytes, (e) => ({ ...e, signatures: [{ sig: e.signatures[0]!.sig }] })),
      envelopeBytes([keys[0]!, keys[1]!]),
      reshaped(bytes, (e) => ({ ...e, signatures: [...e.signatures, ...e.signatures] })),
      reshaped(bytes, (e) => ({ ...e, extra: true })),
      reshaped(bytes, (e) => ({ ...e, payload: e.payload.replace(/=+$/, '') })),
    ]) {
      assert.equal(await validate(invalid), TopicValidatorResult.Reject);
    }
    assert.equal(calls(), 0);
    assert.equal(await store.count(), 0);
  });

  it('holds the per-key cap: a second digest is kept, a third and a rebuild of a stored digest are Ignored', async () => {
    const { validate, store } = await validator();
    const by = (digest: string, run = '1') => envelopeBytes(keys[0]!, { digest: hex64(digest), finishedOn: `2026-11-25T00:0${run}:00.000Z` });
    assert.equal(await validate(by('one')), TopicValidatorResult.Accept);
    assert.equal(await validate(by('one', '2')), TopicValidatorResult.Ignore);
    assert.equal(await validate(by('two')), TopicValidatorResult.Accept);
    assert.equal(await validate(by('three')), TopicValidatorResult.Ignore);
    assert.equal(await store.count(), 2);
  });
});

describe('gossip and sync between libp2p nodes on 127.0.0.1', () => {
  const nodes: TestNode[] = [];
  after(async () => {
    for (const n of nodes) {
      await n.gossip.stop();
      await n.sync.stop();
      await n.peer.stop();
      await n.store.close();
    }
  });

  it('gossip carries a valid attestation along a line; invalid and untrusted ones go nowhere', async () => {
    const a = await node();
    const b = await node([a.addr]);
    const c = await node([b.addr]);
    nodes.push(a, b, c);
    await until(() => a.peer.node.getPeers().length === 1 && c.peer.node.getPeers().length === 1, 'a and c each connected to b');
    // a publishes only once it knows b is on the topic: gossipsub sends nothing to a peer it does not know subscribed.
    await until(() => c.peer.node.services.pubsub.getSubscribers(c.gossip.topic).length > 0 && a.peer.node.services.pubsub.getSubscribers(a.gossip.topic).length > 0, 'a and c see b subscribed');
    const good = readAttestation(envelopeBytes(keys[0]!, { digest: hex64('x') }), policy, 'test');
    await a.store.put(good);
    await a.gossip.publish(good.bytes);
    await until(async () => (await c.store.has(good.hash)), 'c stored the good envelope');
    const untrusted = envelopeBytes(signer(77));
    const garbage = new TextEncoder().encode('{"not":"an envelope"}');
    await a.peer.node.services.pubsub.publish(a.gossip.topic, untrusted);
    await a.peer.node.services.pubsub.publish(a.gossip.topic, garbage);
    // Counted by what b logged for these two (a duplicate of the good one, by gossip after sync, is also an Ignore).
    const refusals = (n: TestNode) => n.events.filter((e) => e.event === 'gossip.rejected' || (e.event === 'gossip.ignored' && e.code === 'UNKNOWN_SIGNER'));
    await until(() => refusals(b).length === 2, 'b refused the untrusted and the garbage message');
    assert.deepEqual(refusals(b).map((e) => e.code).sort(), ['BAD_ENVELOPE', 'UNKNOWN_SIGNER']);
    // b decided both before forwarding and c has no other peer: c cannot have been sent either.
    assert.deepEqual(refusals(c), [], 'nothing invalid was forwarded to c');
    const score = () => (b.peer.node.services.pubsub as unknown as { getScore(peer: string): number }).getScore(a.peer.node.peerId.toString());
    await until(() => score() < 0, 'a\'s score at b fell below 0');
    assert.equal(await c.store.count(), 1);
  });

  it('a node that joins late catches up through sync with exactly what it lacks', async () => {
    const [a] = nodes as [TestNode];
    const many = Array.from({ length: 300 }, (_, i) => readAttestation(envelopeBytes(keys[i % 3]!, { image: `core-p${i}` }), policy, 'test'));
    await a.store.putMany(many);
    const late = await node([a.addr]);
    nodes.push(late);
    await until(async () => (await late.store.count()) === 301, 'the late node holds all 301 envelopes');
    assert.equal(late.sync.counters.envelopesReceived, 301);
  });
});

describe('sync with a peer that stops answering', () => {
  it('aborts the stalled stream, then disconnects and bans the peer: no retry, no re-dial', async () => {
    const silent = await startPeer({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [] });
    await silent.node.handle('/stagex/test/sync/1.0.0', () => undefined);
    const store = await AttestationStore.open(join(tempDir('stagex-net'), 'db'));
    const index = await HashIndex.load(store);
    const events: { event: string; fields: Record<string, unknown> }[] = [];
    const bans = new Bans();
    const address = silent.node.getMultiaddrs()[0]!;
    const peer = await startPeer({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [address.toString()], bans, redialIntervalMs: 100 });
    const sync = new Sync({ networkId: 'test', policy, store, index, bans, intervalMs: 60_000, timeoutMs: 300, retryMs: 100, log: (event, fields) => events.push({ event, fields }) });
    try {
      await sync.start(peer.node);
      await until(() => peer.node.getPeers().length === 1, 'connected to the silent peer');
      const disconnected = new Promise((resolve) => peer.node.addEventListener('peer:disconnect', resolve, { once: true }));
      await sync.syncWith(silent.node.peerId);
      await disconnected;
      const dropped = events.filter((e) => e.event === 'sync.peer_dropped');
      assert.equal(dropped.length, 1);
      assert.equal(dropped[0]!.fields.bound, 'inactivity');
      assert.equal(events.filter((e) => e.event === 'sync.failed').length, 0, 'misbehaviour is no failure to retry');
      assert.ok(bans.isBanned(silent.node.peerId));
      await assert.rejects(peer.node.dial(address), (error: Error) => error.name === 'DialDeniedError', 'the connection gater refuses to dial a banned peer');
    } finally {
      await sync.stop();
      await peer.stop();
      await silent.stop();
      await store.close();
    }
  });
});

describe('sync with a peer that does not speak the sync protocol', () => {
  it('stops asking it after "protocol not supported", until it reconnects', async () => {
    const other = await startPeer({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [] });
    const store = await AttestationStore.open(join(tempDir('stagex-net'), 'db'));
    const index = await HashIndex.load(store);
    const events: string[] = [];
    const peer = await startPeer({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [] });
    const sync = new Sync({ networkId: 'test', policy, store, index, intervalMs: 60_000, retryMs: 100, log: (event) => events.push(event) });
    const unsupported = () => events.filter((e) => e === 'sync.unsupported').length;
    try {
      await sync.start(peer.node);
      const address = other.node.getMultiaddrs()[0]!;
      await peer.node.dial(address);
      await sync.syncWith(other.node.peerId);
      assert.equal(unsupported(), 1);
      await sync.syncWith(other.node.peerId);
      assert.equal(unsupported(), 1, 'not asked again while connected');
      assert.equal(events.filter((e) => e === 'sync.failed').length, 0, 'no retry scheduled');
      const disconnected = new Promise((resolve) => peer.node.addEventListener('peer:disconnect', resolve, { once: true }));
      await peer.node.hangUp(other.node.peerId);
      await disconnected;
      await peer.node.dial(address);
      await sync.syncWith(other.node.peerId);
      assert.equal(unsupported(), 2, 'asked again after reconnecting');
    } finally {
      await sync.stop();
      await peer.stop();
      await other.stop();
      await store.close();
    }
  });
});

describe('retryDelay', () => {
  it('doubles the wait per failure in a row, up to the cap', () => {
    assert.deepEqual([1, 2, 3, 4, 10, 100].map((n) => retryDelay(n, 2000, 300_000)), [2000, 4000, 8000, 16_000, 300_000, 300_000]);
  });
});
