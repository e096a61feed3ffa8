import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PeerId } from '@libp2p/interface';
import { AttestationStore } from '../../../store/store.ts';
import { readAttestation } from '../../../protocol/attestation.ts';
import { startPeer, type RunningPeer } from '../../../daemon/net/peer.ts';
import { attestationTopic, type AttestationGossip, type GossipInit } from '../../../daemon/net/gossip.ts';
import { Bans } from '../../../daemon/net/bans.ts';
import { envelopeBytes, hex64, policyOf, reshaped, signer, signers } from '../../helpers/fixtures.ts';
import { tempDir } from '../../helpers/tmp.ts';

const keys = signers(2);
const policy = policyOf(1, keys);
const topic = attestationTopic('test');
const listen = ['/ip4/127.0.0.1/tcp/0'];

interface GossipNode { peer: RunningPeer; gossip: AttestationGossip; store: AttestationStore; bans: Bans; addr: string }

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for: ${what}`);
}

describe('gossip budgets between libp2p nodes over TCP on 127.0.0.1', () => {
  const running: (() => Promise<void>)[] = [];
  after(async () => {
    for (const stop of running.reverse()) await stop();
  });

  /** A node with the gossip service, as the daemon runs it. */
  async function gossipNode(bootstrap: string[], gossip: Partial<GossipInit> = {}): Promise<GossipNode> {
    const store = await AttestationStore.open(join(tempDir('stagex-flood'), 'db'));
    const bans = new Bans();
    const peer = await startPeer({ privateKey: await generateKeyPair('Ed25519'), listen, bootstrap, bans, redialIntervalMs: 200, gossip: { networkId: 'test', policy, store, ...gossip } });
    running.push(() => store.close(), () => peer.stop());
    return { peer, gossip: peer.node.services.gossip!, store, bans, addr: peer.node.getMultiaddrs()[0]!.toString() };
  }

  /** A bare gossipsub peer that publishes whatever it is told to on the topic (no validation of its own). */
  async function flooder(victim: GossipNode): Promise<RunningPeer> {
    const peer = await startPeer({ privateKey: await generateKeyPair('Ed25519'), listen, bootstrap: [victim.addr] });
    running.push(() => peer.stop());
    await until('the flooder sees the victim subscribed', () => peer.node.services.pubsub.getSubscribers(topic).some((p) => p.equals(victim.peer.node.peerId)));
    return peer;
  }

  /** Publishes until the victim hangs up (or the messages run out). */
  async function flood(from: RunningPeer, messages: Uint8Array[]): Promise<number> {
    let sent = 0;
    for (const message of messages) {
      if (from.node.getPeers().length === 0) break;
      await from.node.services.pubsub.publish(topic, message).catch(() => undefined);
      sent += 1;
    }
    return sent;
  }

  const connected = (a: RunningPeer, b: PeerId) => a.node.getPeers().some((p) => p.equals(b));

  /** An honest node publishes a valid envelope; it must reach the victim. */
  async function honestArrives(honest: GossipNode, victim: GossipNode, image: string): Promise<void> {
    const bytes = envelopeBytes(keys[0]!, { image, digest: hex64(image) });
    const { hash } = readAttestation(bytes, policy, 'test');
    await honest.gossip.publish(bytes);
    await until(`${image} from the honest node reaches the victim`, () => victim.store.has(hash));
  }

  it('a peer flooding over its verification budget is Ignored unread, then disconnected and banned; an honest peer\'s messages still arrive', async () => {
    const victim = await gossipNode([], { budget: { verificationsPerSecond: 5, verificationBurst: 10, banPenalty: 20 } });
    const honest = await gossipNode([victim.addr]);
    await until('the honest node sees the victim subscribed', () => honest.peer.node.services.pubsub.getSubscribers(topic).length > 0);
    const bad = await flooder(victim);
    await honestArrives(honest, victim, 'core-before');
    // Unknown signers: each Ignored without a verification, so only the budget can stop them.
    const messages = Array.from({ length: 300 }, (_, i) => envelopeBytes(signer(77), { image: `flood-${i}` }));
    const started = Date.now();
    await flood(bad, messages);
    await until('the victim bans the flooder', () => victim.bans.isBanned(bad.node.peerId));
    const seconds = (Date.now() - started) / 1000;
    await until('the victim hangs up on the flooder', () => !connected(victim.peer, bad.node.peerId));
    assert.equal(victim.gossip.counters.peersBanned, 1);
    assert.ok(victim.gossip.counters.unread > 20, `unread: ${victim.gossip.counters.unread}`);
    const read = victim.gossip.counters.ignored - victim.gossip.counters.unread;
    assert.ok(read <= 10 + Math.ceil(5 * seconds), `read ${read} flood messages in ${seconds} s: at most the burst of 10 and 5/s`);
    assert.equal(victim.bans.isBanned(honest.peer.node.peerId), false);
    assert.equal(victim.gossip.budget.penalty(honest.peer.node.peerId.toString()), 0);
    await honestArrives(honest, victim, 'core-after');
    assert.ok(connected(victim.peer, honest.peer.node.peerId), 'the honest node is still connected');
    await assert.rejects(victim.peer.node.dial(bad.node.getMultiaddrs()[0]!), (error: Error) => error.name === 'DialDeniedError', 'the gater refuses to dial a banned peer');
  });

  it('a peer sending keyless envelopes is Rejected, then disconnected and banned after three; an honest peer\'s messages still arrive', async () => {
    const victim = await gossipNode([]);
    const honest = await gossipNode([victim.addr]);
    await until('the honest node sees the victim subscribed', () => honest.peer.node.services.pubsub.getSubscribers(topic).length > 0);
    const bad = await flooder(victim);
    const keyless = Array.from({ length: 50 }, (_, i) => reshaped(envelopeBytes(keys[1]!, { image: `keyless-${i}` }), (e) => ({ ...e, signatures: [{ sig: e.signatures[0]!.sig }] })));
    await flood(bad, keyless);
    await until('the victim bans the keyless peer', () => victim.bans.isBanned(bad.node.peerId));
    await until('the victim hangs up on the keyless peer', () => !connected(victim.peer, bad.node.peerId));
    assert.equal(victim.gossip.counters.peersBanned, 1);
    assert.ok(victim.gossip.counters.rejected >= 3, `rejected ${victim.gossip.counters.rejected}`);
    assert.equal(await victim.store.count(), 0, 'nothing keyless was stored');
    await honestArrives(honest, victim, 'core-honest');
    assert.equal(victim.bans.isBanned(honest.peer.node.peerId), false);
  });
});
