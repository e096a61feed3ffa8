/**
 * Sync's libp2p components as stubs over in-memory stream pairs (`streamPair` from
 * @libp2p/utils), as libp2p's own service tests do: the registrar keeps handlers, and a stream
 * opened to the other node runs its registered handler on the far end of a fresh pair.
 * Hang-ups are recorded.
 */
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { streamPair } from '@libp2p/utils';
import type { Connection, PeerId, Stream, StreamHandler } from '@libp2p/interface';
import type { SyncComponents } from '../../daemon/net/sync.ts';

export interface StubNode {
  peerId: PeerId;
  components: SyncComponents;
  /** Handlers registered through the registrar, by protocol. */
  handlers: Map<string, StreamHandler>;
  /** Peers this node hung up on, in order. */
  hungUp: PeerId[];
  /** Streams this node opened. */
  dials: () => number;
}

/** Two stub nodes, each able to open streams to the other's handlers. */
export async function stubPair(): Promise<[StubNode, StubNode]> {
  const a = await stubNode();
  const b = await stubNode();
  a.link(b);
  b.link(a);
  return [a, b];
}

async function stubNode(): Promise<StubNode & { link(other: StubNode): void }> {
  const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'));
  const handlers = new Map<string, StreamHandler>();
  const hungUp: PeerId[] = [];
  let other: StubNode | undefined;
  let dials = 0;
  const components = {
    registrar: {
      handle: async (protocol: string, handler: StreamHandler) => void handlers.set(protocol, handler),
      unhandle: async (protocol: string) => void handlers.delete(protocol),
    },
    connectionManager: {
      getConnections: () => (other ? [{ remotePeer: other.peerId }] : []),
      closeConnections: async (peer: PeerId) => void hungUp.push(peer),
      openStream: async (_peer: PeerId, protocol: string): Promise<Stream> => {
        const handler = other?.handlers.get(protocol);
        if (!handler) throw Object.assign(new Error(`protocol ${protocol} not supported`), { name: 'UnsupportedProtocolError' });
        dials += 1;
        const [outbound, inbound] = await streamPair();
        void handler(inbound, { remotePeer: peerId, id: `stub-connection-${peerId}` } as unknown as Connection);
        return outbound;
      },
    },
    events: new EventTarget(),
  } as unknown as SyncComponents;
  return { peerId, components, hungUp, handlers, dials: () => dials, link: (node) => void (other = node) };
}
