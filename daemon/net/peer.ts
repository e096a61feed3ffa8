/**
 * The libp2p node (DESIGN section 6): TCP, noise (each frame's ciphertext in one buffer, so
 * one write system call: noise-crypto.ts), yamux, identify, gossipsub with unsigned
 * frames (the envelopes inside are signed; a second signature per hop only costs CPU) and
 * message id = sha256 of the data, and our two services, attestation gossip and sync, given
 * their Inits. One ban list for the node: the connection gater, gossip and sync share it.
 * Bootstrap peers are dialled at start and re-dialled whenever they are not connected; a config
 * reload replaces the list (new peers are dialled at once, removed ones no longer re-dialled).
 */
import type { Log } from '../log.ts';
import { createHash } from 'node:crypto';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise, type ICryptoInterface } from '@chainsafe/libp2p-noise';
import { yamux } from '@libp2p/yamux';
import { identify } from '@libp2p/identify';
import { gossipsub, StrictNoSign, type GossipSub, type GossipsubOpts } from '@libp2p/gossipsub';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { PrivateKey } from '@libp2p/interface';
import { DaemonError } from '../errors.ts';
import { Bans } from './bans.ts';
import { attestationGossip, attestationTopic, type AttestationGossip, type GossipInit } from './gossip.ts';
import { attestationSync, type AttestationSync, type SyncInit } from './sync.ts';
import { contiguousNoiseCrypto } from './noise-crypto.ts';

/** The node's services; gossip and sync are there when their Inits were given. */
export interface PeerServices extends Record<string, unknown> {
  identify: ReturnType<ReturnType<typeof identify>>;
  pubsub: GossipSub;
  gossip?: AttestationGossip;
  sync?: AttestationSync;
}

export type Peer = Libp2p<PeerServices>;

export interface PeerInit {
  privateKey: PrivateKey;
  listen: readonly string[];
  bootstrap: readonly string[];
  /** Attestation gossip, whose topic peers are scored on. Default: none (gossipsub alone, unscored). */
  gossip?: Omit<GossipInit, 'bans'>;
  /** Catch-up sync. Default: none. */
  sync?: Omit<SyncInit, 'bans'>;
  /** Peers cut off for misbehaviour: neither dialled (bootstrap re-dials included) nor accepted while banned; gossip and sync ban into it. Default: the node's own. */
  bans?: Bans;
  /** Gossipsub options over the node's (GOSSIPSUB_OPTIONS, then scoring). Default: none (bench/gossip-frames.ts gives gossipsub's own, to compare). */
  gossipsub?: Partial<GossipsubOpts>;
  /** Noise's cipher. Default: contiguousNoiseCrypto (bench/gossip-frames.ts gives noise's own, to compare). */
  noiseCrypto?: ICryptoInterface;
  /** How often unconnected bootstrap peers are re-dialled. Default 3 s. */
  redialIntervalMs?: number;
  log?: Log;
}

export interface RunningPeer {
  node: Peer;
  /** Replaces the bootstrap list and dials the new peers now; BAD_CONFIG (nothing changed) for an address that is not a multiaddr. */
  setBootstrap(addrs: readonly string[]): void;
  stop(): Promise<void>;
}

function parseAddrs(values: readonly string[], field: string): Multiaddr[] {
  return values.map((value) => {
    try {
      return multiaddr(value);
    } catch (error) {
      throw new DaemonError('BAD_CONFIG', `${field}: ${JSON.stringify(value)} is not a multiaddr (${(error as Error).message})`);
    }
  });
}

/**
 * The node's gossipsub options, but scoring (which needs the topic): also the hostile test peer's
 * (test/helpers/hostile-peer.ts), so it speaks exactly as a daemon does.
 */
export const GOSSIPSUB_OPTIONS = {
  globalSignaturePolicy: StrictNoSign,
  msgIdFn: (message) => new Uint8Array(createHash('sha256').update(message.data).digest()),
  allowPublishToZeroTopicPeers: true,
  ignoreDuplicatePublishError: true,
} satisfies Partial<GossipsubOpts>;

/**
 * Peer scoring on the attestation topic. Invalid messages cost a peer heavily (Reject is for
 * input no honest node forwards): a few push it below the graylist threshold (-80) until the
 * penalty decays (x0.99 per second). Mesh delivery-rate penalties stay off: attestations come
 * in bursts and quiet hours, and a rate target would prune honest peers.
 */
function scoring(topic: string): Pick<GossipsubOpts, 'scoreParams' | 'scoreThresholds'> {
  return {
    scoreParams: {
      topics: {
        [topic]: {
          topicWeight: 1,
          timeInMeshWeight: 0.01,
          timeInMeshQuantum: 1_000,
          timeInMeshCap: 3_600,
          firstMessageDeliveriesWeight: 0.5,
          firstMessageDeliveriesDecay: 0.99,
          firstMessageDeliveriesCap: 50,
          meshMessageDeliveriesWeight: 0,
          meshMessageDeliveriesDecay: 0.5,
          meshMessageDeliveriesCap: 100,
          meshMessageDeliveriesThreshold: 1,
          meshMessageDeliveriesWindow: 10,
          meshMessageDeliveriesActivation: 5_000,
          meshFailurePenaltyWeight: 0,
          meshFailurePenaltyDecay: 0.5,
          invalidMessageDeliveriesWeight: -10,
          invalidMessageDeliveriesDecay: 0.99,
        },
      },
      topicScoreCap: 10,
    },
    scoreThresholds: { gossipThreshold: -10, publishThreshold: -50, graylistThreshold: -80 },
  };
}

/** Refuses banned peers both ways (an inbound refusal is logged: the ban at work); everything else is libp2p's default. */
function gate(bans: Bans, log: Log): NonNullable<Parameters<typeof createLibp2p>[0]>['connectionGater'] {
  return {
    denyDialPeer: (peerId) => bans.isBanned(peerId),
    denyInboundEncryptedConnection: (peerId) => {
      const banned = bans.isBanned(peerId);
      if (banned) log('peer.refused', { peer: peerId.toString(), reason: 'banned' });
      return banned;
    },
  };
}

export async function startPeer(init: PeerInit): Promise<RunningPeer> {
  const listen = parseAddrs(init.listen, 'network.listen');
  let bootstrap = parseAddrs(init.bootstrap, 'network.bootstrap');
  const log = init.log ?? (() => {});
  const bans = init.bans ?? new Bans();
  const topic = init.gossip ? attestationTopic(init.gossip.networkId) : undefined;
  const node = await createLibp2p({
    privateKey: init.privateKey,
    addresses: { listen: listen.map((a) => a.toString()) },
    transports: [tcp()],
    connectionEncrypters: [noise({ crypto: init.noiseCrypto ?? contiguousNoiseCrypto })],
    streamMuxers: [yamux()],
    connectionGater: gate(bans, log),
    services: {
      identify: identify(),
      pubsub: gossipsub({ ...GOSSIPSUB_OPTIONS, ...(topic ? scoring(topic) : {}), ...init.gossipsub }),
      ...(init.gossip ? { gossip: attestationGossip({ ...init.gossip, bans }) } : {}),
      ...(init.sync ? { sync: attestationSync({ ...init.sync, bans }) } : {}),
    },
  }) as Peer;
  let stopped = false;
  /** Bootstrap peers whose last dial failed: said once (warn), then quietly retried (debug). */
  const unreachable = new Set<string>();
  /** Peers being dialled: a redial (timer or reload) while one is under way does not dial them again. */
  const dialling = new Set<string>();
  const redial = async () => {
    const connected = new Set(node.getConnections().map((c) => c.remotePeer.toString()));
    await Promise.all(bootstrap.map(async (addr) => {
      const peerId = addr.getComponents().find((c) => c.name === 'p2p')?.value;
      if (!peerId || connected.has(peerId) || dialling.has(peerId) || peerId === node.peerId.toString()) return;
      dialling.add(peerId);
      try {
        await node.dial(addr, { signal: AbortSignal.timeout(5000) });
        unreachable.delete(peerId);
        log('peer.dialled', { addr: addr.toString() });
      } catch (error) {
        if (stopped) return;
        const again = unreachable.has(peerId);
        unreachable.add(peerId);
        log(again ? 'peer.redial_failed' : 'peer.unreachable', { addr: addr.toString(), error: (error as Error).message }, again ? 'debug' : 'warn');
      } finally {
        dialling.delete(peerId);
      }
    }));
  };
  await redial();
  const timer = setInterval(() => void redial(), init.redialIntervalMs ?? 3000);
  return {
    node,
    setBootstrap(addrs) {
      bootstrap = parseAddrs(addrs, 'network.bootstrap');
      const kept = new Set(bootstrap.map((a) => a.getComponents().find((c) => c.name === 'p2p')?.value));
      for (const peerId of unreachable) if (!kept.has(peerId)) unreachable.delete(peerId);
      void redial();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await node.stop();
    },
  };
}
