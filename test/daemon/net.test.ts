import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { AttestationStore } from '../../store/store.ts';
import { readAttestation } from '../../protocol/attestation.ts';
import { startPeer, type RunningPeer } from '../../daemon/net/peer.ts';
import { attestationGossip, type AttestationGossip, type GossipComponents } from '../../daemon/net/gossip.ts';
import { jittered, retryDelay, syncProtocol, type AttestationSync } from '../../daemon/net/sync.ts';
import { HashIndex } from '../../daemon/net/hash-index.ts';
import { Bans } from '../../daemon/net/bans.ts';
import { TopicValidatorResult, type TopicValidatorFn } from '@libp2p/gossipsub';
import type { TrustPolicy } from '../../protocol/trust.ts';
import { DaemonError } from '../../daemon/errors.ts';
import { countingPolicy, envelopeBytes, hex64, policyOf, reshaped, signer, signers } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';
import { until as waitUntil } from '../../scripts/local-network.ts';

const keys = signers(3);
const policy = policyOf(2, keys);

/** A node and the gossip events it logged (refusals carry their code). */
interface TestNode { peer: RunningPeer; store: AttestationStore; gossip: AttestationGossip; sync: AttestationSync; index: HashIndex; addr: string; events: { event: string; code?: unknown }[] }

/** A libp2p node with the gossip and sync services, as the daemon runs it. */
async function node(bootstrap: string[] = [], options: { policy?: TrustPolicy; syncIntervalMs?: number } = {}): Promise<TestNode> {
  const store = await AttestationStore.open(join(tempDir('stagex-net'), 'db'));
  const index = await HashIndex.load(store);
  const events: TestNode['events'] = [];
  const peer = await startPeer({
    privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap, redialIntervalMs: 500,
    gossip: { networkId: 'test', policy: options.policy ?? policy, store, log: (event, fields) => events.push({ event, code: fields.code }) },
    sync: { networkId: 'test', policy: options.policy ?? policy, store, index, intervalMs: options.syncIntervalMs ?? 1000 },
  });
  const { gossip, sync } = peer.node.services;
  assert.ok(gossip && sync);
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

  /** The gossip service on stub components: the validator it registers, its store and its verification count. */
  async function validator() {
    const store = await AttestationStore.open(join(tempDir('stagex-gossip'), 'db'));
    stores.push(store);
    const validators = new Map<string, TopicValidatorFn>();
    const hungUp: string[] = [];
    const stub = { pubsub: { topicValidators: validators }, connectionManager: { closeConnections: async (peer: string) => void hungUp.push(peer.toString()) }, events: new EventTarget() } as unknown as GossipComponents;
    const counted = countingPolicy(policy);
    const gossip = attestationGossip({ networkId: 'test', policy: counted.policy, store })(stub);
    gossip.start();
    const validate = (data: Uint8Array, from = 'peer-under-test') => validators.get(gossip.topic)!({ toString: () => from } as Parameters<TopicValidatorFn>[0], { type: 'unsigned', topic: gossip.topic, data });
    return { validate, store, calls: counted.calls, hungUp, gossip };
  }

  it('validates under the policy set last (a config reload): a newly trusted key is Accepted, a dropped one Ignored', async () => {
    const { validate, store, gossip } = await validator();
    assert.equal(await validate(envelopeBytes(signer(7))), TopicValidatorResult.Ignore);
    gossip.setPolicy(policyOf(1, [signer(7)]));
    assert.equal(await validate(envelopeBytes(signer(7))), TopicValidatorResult.Accept);
    assert.equal(await validate(envelopeBytes(keys[0]!)), TopicValidatorResult.Ignore);
    assert.equal(await store.count(), 1);
  });

  it('accepts and stores a canonical envelope with one keyed signature; the same again is Ignored', async () => {
    const { validate, store } = await validator();
    const bytes = envelopeBytes(keys[0]!);
    assert.equal(await validate(bytes), TopicValidatorResult.Accept);
    assert.ok(await store.has(readAttestation(bytes, policy, 'test').hash));
    assert.equal(await validate(bytes), TopicValidatorResult.Ignore);
  });

  it('Ignores an unknown keyid and Rejects a keyless signature, several signatures or non-canonical bytes, with no verification', async () => {
    const { validate, store, calls, hungUp } = await validator();
    const bytes = envelopeBytes(keys[0]!);
    assert.equal(await validate(envelopeBytes(signer(77))), TopicValidatorResult.Ignore);
    for (const [i, invalid] of [
      reshaped(bytes, (e) => ({ ...e, signatures: [{ sig: e.signatures[0]!.sig }] })),
      envelopeBytes([keys[0]!, keys[1]!]),
      reshaped(bytes, (e) => ({ ...e, signatures: [...e.signatures, ...e.signatures] })),
      reshaped(bytes, (e) => ({ ...e, extra: true })),
      reshaped(bytes, (e) => ({ ...e, payload: e.payload.replace(/=+$/, '') })),
    ].entries()) {
      assert.equal(await validate(invalid, `sender-${i}`), TopicValidatorResult.Reject);
    }
    assert.deepEqual(hungUp, [], 'one invalid message each bans nobody');
    assert.equal(calls(), 0);
    assert.equal(await store.count(), 0);
  });

  it('hangs up on and bans a sender of three invalid messages; its next message is Ignored unread', async () => {
    const { validate, hungUp, gossip } = await validator();
    const keyless = (i: number) => reshaped(envelopeBytes(keys[0]!, { image: `core-k${i}` }), (e) => ({ ...e, signatures: [{ sig: e.signatures[0]!.sig }] }));
    for (const i of [1, 2, 3]) assert.equal(await validate(keyless(i)), TopicValidatorResult.Reject);
    assert.deepEqual(hungUp, ['peer-under-test']);
    assert.equal(gossip.counters.peersBanned, 1);
    assert.equal(await validate(envelopeBytes(keys[0]!)), TopicValidatorResult.Ignore);
    assert.equal(gossip.counters.unread, 1);
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

  it('a reload: setBootstrap dials a new peer; after setPolicy trusts a key, sync fetches its envelopes refused before, at once', async () => {
    const [a] = nodes as [TestNode];
    const newcomer = signer(9);
    const widened = policyOf(2, [...keys, newcomer]);
    const theirs = readAttestation(envelopeBytes(newcomer, { image: 'core-newcomer' }), widened, 'test');
    await a.store.put(theirs);
    // Periodic rounds every 10 min: only the rounds on connect and on setPolicy run here.
    const b = await node([], { syncIntervalMs: 600_000 });
    nodes.push(b);
    assert.throws(() => b.peer.setBootstrap(['not a multiaddr']), (error: unknown) => error instanceof DaemonError && error.code === 'BAD_CONFIG');
    b.peer.setBootstrap([a.addr]);
    await until(async () => (await b.store.count()) === 301, 'the new peer dialled and synced');
    assert.equal(await b.store.has(theirs.hash), false, 'the unknown key\'s envelope was received and refused');
    await b.sync.setPolicy(widened);
    assert.ok(await b.store.has(theirs.hash), 'fetched by the round setPolicy started');
  });
});

describe('sync with a peer that stops answering', () => {
  it('aborts the stalled stream, then disconnects and bans the peer: no retry, no re-dial', async () => {
    const silent = await startPeer({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [] });
    await silent.node.handle(syncProtocol('test'), () => undefined);
    const store = await AttestationStore.open(join(tempDir('stagex-net'), 'db'));
    const index = await HashIndex.load(store);
    const events: { event: string; fields: Record<string, unknown> }[] = [];
    const bans = new Bans();
    const address = silent.node.getMultiaddrs()[0]!;
    const peer = await startPeer({
      privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [address.toString()], bans, redialIntervalMs: 100,
      sync: { networkId: 'test', policy, store, index, intervalMs: 60_000, timeoutMs: 300, retryMs: 100, log: (event, fields) => events.push({ event, fields }) },
    });
    const sync = peer.node.services.sync!;
    try {
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
    const peer = await startPeer({
      privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [],
      sync: { networkId: 'test', policy, store, index, intervalMs: 60_000, retryMs: 100, log: (event) => events.push(event) },
    });
    const sync = peer.node.services.sync!;
    const unsupported = () => events.filter((e) => e === 'sync.unsupported').length;
    try {
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

describe('jittered', () => {
  it('draws each wait within +-25 % of the interval, so nodes started together drift out of step', () => {
    assert.deepEqual([0, 0.5, 0.999].map((r) => jittered(15_000, () => r)), [11_250, 15_000, 18_742.5]);
  });
});
