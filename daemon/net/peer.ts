/**
 * The libp2p node (DESIGN section 6): TCP, noise, yamux, identify, gossipsub with unsigned
 * frames (the envelopes inside are signed; a second signature per hop only costs CPU) and
 * message id = sha256 of the data. Bootstrap peers are dialled at start and re-dialled
 * whenever they are not connected; a config reload replaces the list (new peers are dialled at
 * once, removed ones are no longer re-dialled).
 */
import type { Log } from '../log.ts';
import { createHash } from 'node:crypto';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@libp2p/yamux';
import { identify } from '@libp2p/identify';
import { gossipsub, StrictNoSign, type GossipSub, type GossipsubOpts } from '@libp2p/gossipsub';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { PrivateKey } from '@libp2p/interface';
import { DaemonError } from '../errors.ts';
import type { Bans } from './bans.ts';

export type Peer = Libp2p<{ pubsub: GossipSub; identify: ReturnType<ReturnType<typeof identify>> }>;

export interface PeerInit {
  privateKey: PrivateKey;
  listen: readonly string[];
  bootstrap: readonly string[];
  /** The gossip topic to score peers on (invalid messages lower the sender's score). */
  topic?: string;
  /** Peers cut off for misbehaviour: neither dialled (bootstrap re-dials included) nor accepted while banned. */
  bans?: Bans;
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

/** Refuses banned peers both ways; everything else is libp2p's default. */
function gate(bans: Bans): NonNullable<Parameters<typeof createLibp2p>[0]>['connectionGater'] {
  return {
    denyDialPeer: (peerId) => bans.isBanned(peerId),
    denyInboundEncryptedConnection: (peerId) => bans.isBanned(peerId),
  };
}

export async function startPeer(init: PeerInit): Promise<RunningPeer> {
  const listen = parseAddrs(init.listen, 'network.listen');
  let bootstrap = parseAddrs(init.bootstrap, 'network.bootstrap');
  const log = init.log ?? (() => {});
  const node = await createLibp2p({
    privateKey: init.privateKey,
    addresses: { listen: listen.map((a) => a.toString()) },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...(init.bans ? { connectionGater: gate(init.bans) } : {}),
    services: {
      identify: identify(),
      pubsub: gossipsub({
        globalSignaturePolicy: StrictNoSign,
        msgIdFn: (message) => new Uint8Array(createHash('sha256').update(message.data).digest()),
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        ...(init.topic ? scoring(init.topic) : {}),
      }),
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
