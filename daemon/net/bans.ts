/**
 * Peers cut off for misbehaviour (DESIGN section 6), each until a time. The libp2p node's
 * connection gater consults it, so a banned peer is neither dialled (bootstrap re-dials
 * included) nor accepted until its ban runs out; sync asks it nothing meanwhile.
 */
import type { PeerId } from '@libp2p/interface';

export class Bans {
  readonly #until = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  ban(peer: PeerId, ms: number): void {
    this.#until.set(peer.toString(), this.#now() + ms);
  }

  isBanned(peer: PeerId): boolean {
    const key = peer.toString();
    const until = this.#until.get(key);
    if (until === undefined) return false;
    if (until > this.#now()) return true;
    this.#until.delete(key);
    return false;
  }
}
