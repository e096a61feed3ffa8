/**
 * A peer's dialable address, as `network.bootstrap` holds it: host (ip4, ip6 or a DNS name),
 * TCP port (the node's only transport) and the peer id, `/ip4/<host>/tcp/<port>/p2p/<peer id>`.
 * The peer id is required: libp2p's noise handshake then proves the dialled node holds it, so a
 * node on a reused address cannot pose as the peer.
 */
import { multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';
import { DaemonError } from '../errors.ts';

export interface PeerAddress {
  /** The multiaddr as given. */
  address: string;
  host: string;
  port: number;
  peerId: string;
}

const HOSTS = new Set(['ip4', 'ip6', 'dns', 'dns4', 'dns6']);
const EXAMPLE = '/ip4/<host>/tcp/<port>/p2p/<peer id>';

/** Parses `value`, or throws `code` (USAGE from the command line, BAD_CONFIG from a config) naming `where`. */
export function parsePeerAddress(value: string, where: string, code: 'USAGE' | 'BAD_CONFIG' = 'USAGE'): PeerAddress {
  const refuse = (why: string) => new DaemonError(code, `${where}: expected a peer address ${EXAMPLE}, got ${JSON.stringify(value)}: ${why}`);
  let components;
  try {
    components = multiaddr(value).getComponents();
  } catch (error) {
    throw refuse(`not a multiaddr (${(error as Error).message})`);
  }
  const [host, tcp, p2p, ...rest] = components;
  if (host === undefined || !HOSTS.has(host.name)) throw refuse('it must start with /ip4, /ip6 or /dns');
  if (tcp?.name !== 'tcp') throw refuse('the host must be followed by /tcp/<port>');
  if (p2p?.name !== 'p2p' || p2p.value === undefined) throw refuse('it must end in /p2p/<peer id> (`stagex-node keys` on that node prints it)');
  if (rest.length > 0) throw refuse('nothing may follow the peer id');
  const port = Number(tcp.value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw refuse('the TCP port must be 1-65535');
  try {
    peerIdFromString(p2p.value);
  } catch {
    throw refuse(`${p2p.value} is not a libp2p peer id`);
  }
  return { address: value, host: host.value!, port, peerId: p2p.value };
}
