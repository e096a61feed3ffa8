/**
 * What one gossip peer may make us spend on the attestation topic (DESIGN section 6), decided
 * without a network: a token bucket of signature verifications and one of bytes per peer, and
 * a decaying penalty. A message past either bucket is not validated (no verification spent)
 * and adds one to the sender's penalty; a Rejected message adds `rejectPenalty`. A peer whose
 * penalty passes `banPenalty` is to be disconnected and banned.
 *
 * Gossip arrives from the forwarding peer, so an honest relay carries everyone's traffic; the
 * validator runs once per message id (duplicates are dropped before it), so a relay is charged
 * at most the network's rate. Every message is charged one verification before it is parsed:
 * most cost one, and an unknown signer's, which costs none, is still charged, keeping the check
 * ahead of any work.
 */

export interface GossipBudgetLimits {
  /** Verifications a peer may cause per second (refill rate of its bucket). */
  verificationsPerSecond: number;
  /** Verifications a peer may cause at once (size of its bucket). */
  verificationBurst: number;
  /** Bytes of messages a peer may send per second. */
  bytesPerSecond: number;
  /** Bytes of messages a peer may send at once. */
  bytesBurst: number;
  /** Penalty added by one Rejected message (one message over budget adds 1). */
  rejectPenalty: number;
  /** Penalty past which the peer is disconnected and banned. */
  banPenalty: number;
  /** Time for a penalty to halve. */
  penaltyHalfLifeMs: number;
}

/**
 * 500 verifications/s (burst 1,000) and 8 MiB/s (burst 16 MiB): an honest network of 20 nodes at
 * 30 attestations/s (1.9 MiB/s at the 64 KiB envelope limit) uses 6% of either. More than 50
 * messages over budget, or 3 Rejects, within about a half-life of 10 s get a peer banned. Three,
 * because gossipsub's own score (daemon/net/peer.ts) graylists a peer after about three invalid
 * messages, and a graylisted peer's messages no longer reach the validator to be counted.
 */
export const DEFAULT_GOSSIP_BUDGET: GossipBudgetLimits = {
  verificationsPerSecond: 500,
  verificationBurst: 1000,
  bytesPerSecond: 8 * 1024 * 1024,
  bytesBurst: 16 * 1024 * 1024,
  rejectPenalty: 25,
  banPenalty: 50,
  penaltyHalfLifeMs: 10_000,
};

/** What to do with a message: validate it or not, and whether its sender is now past the line. */
export interface BudgetVerdict {
  admit: boolean;
  ban: boolean;
}

interface PeerAccount {
  verifications: number;
  bytes: number;
  penalty: number;
  /** When the buckets were last refilled and the penalty last decayed. */
  at: number;
}

export class GossipBudget {
  readonly limits: GossipBudgetLimits;
  readonly #accounts = new Map<string, PeerAccount>();
  readonly #now: () => number;

  constructor(limits: Partial<GossipBudgetLimits> = {}, now: () => number = Date.now) {
    this.limits = { ...DEFAULT_GOSSIP_BUDGET, ...limits };
    for (const [name, value] of Object.entries(this.limits)) {
      if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`gossip budget ${name}: expected a positive number, got ${value}`);
    }
    this.#now = now;
  }

  /** Charges a message of `bytes` from `peer`: one verification and its bytes, if both buckets hold them. */
  take(peer: string, bytes: number): BudgetVerdict {
    const account = this.#account(peer);
    if (account.verifications >= 1 && account.bytes >= bytes) {
      account.verifications -= 1;
      account.bytes -= bytes;
      return { admit: true, ban: false };
    }
    account.penalty += 1;
    return { admit: false, ban: account.penalty > this.limits.banPenalty };
  }

  /** Charges a Rejected message (invalid input no honest node forwards). */
  reject(peer: string): BudgetVerdict {
    const account = this.#account(peer);
    account.penalty += this.limits.rejectPenalty;
    return { admit: false, ban: account.penalty > this.limits.banPenalty };
  }

  /** The peer's current penalty (0 for a peer never charged). */
  penalty(peer: string): number {
    return this.#accounts.has(peer) ? this.#account(peer).penalty : 0;
  }

  /** Drops a peer's account (it disconnected or was banned): memory stays bounded by connections. */
  forget(peer: string): void {
    this.#accounts.delete(peer);
  }

  get peers(): number {
    return this.#accounts.size;
  }

  #account(peer: string): PeerAccount {
    const now = this.#now();
    const { verificationsPerSecond, verificationBurst, bytesPerSecond, bytesBurst, penaltyHalfLifeMs } = this.limits;
    let account = this.#accounts.get(peer);
    if (!account) {
      account = { verifications: verificationBurst, bytes: bytesBurst, penalty: 0, at: now };
      this.#accounts.set(peer, account);
      return account;
    }
    const elapsed = Math.max(0, now - account.at);
    account.verifications = Math.min(verificationBurst, account.verifications + (elapsed * verificationsPerSecond) / 1000);
    account.bytes = Math.min(bytesBurst, account.bytes + (elapsed * bytesPerSecond) / 1000);
    account.penalty *= 0.5 ** (elapsed / penaltyHalfLifeMs);
    account.at = now;
    return account;
  }
}
