/**
 * Attestation gossip (DESIGN section 6) on `/stagex/<networkId>/attestations/1`, as a libp2p
 * service (`attestationGossip(init)` in `createLibp2p({ services })`, after `pubsub`). Every
 * message goes through the sender's budget (gossip-budget.ts), then the validation pipeline's
 * gossip rule (protocol/attestation.ts readGossipAttestation) as the topic validator:
 * over the sender's budget -> Ignore, no verification spent; invalid, keyless, several
 * signatures or not canonical -> Reject (the sender's score falls, its penalty rises); unknown
 * signer (no verification spent), already stored, or refused by the store's per-key cap ->
 * Ignore; otherwise stored, then Accept. So what is forwarded is exactly what this node stored,
 * in canonical bytes. A peer past the budget's ban line is hung up on and banned in the node's
 * ban list, rather than scored down through gossipsub's appSpecificScore: a score only
 * graylists (the peer stays connected, its RPCs still read and dropped), while the ban list
 * also keeps it from reconnecting (the connection gater) and from sync.
 */
import { serviceDependencies, type Libp2p, type PeerId, type Startable } from '@libp2p/interface';
import type { ConnectionManager } from '@libp2p/interface-internal';
import { TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub';
import { readGossipAttestation } from '../../protocol/attestation.ts';
import { MAX_ENVELOPE_BYTES } from '../../protocol/dsse.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import type { TrustPolicy } from '../../protocol/trust.ts';
import type { AttestationStore } from '../../store/store.ts';
import { WriteQueue } from '../../store/write-queue.ts';
import { Bans } from './bans.ts';
import { GossipBudget, type GossipBudgetLimits } from './gossip-budget.ts';

export const attestationTopic = (networkId: string) => `/stagex/${networkId}/attestations/1`;

export interface GossipCounters {
  accepted: number;
  rejected: number;
  ignored: number;
  /** Messages Ignored unread (not parsed, no verification) because their sender was over its budget or banned; also counted in `ignored`. */
  unread: number;
  published: number;
  stored: number;
  /** Peers disconnected and banned for going over budget or sending invalid messages. */
  peersBanned: number;
}

export interface GossipInit {
  /** Names the topic, `/stagex/<networkId>/attestations/1`. Required. */
  networkId: string;
  /** Which keys count: only their envelopes are verified and stored. Required. */
  policy: TrustPolicy;
  /** Where accepted envelopes go. Required. */
  store: AttestationStore;
  /** Called when an envelope from gossip is stored for the first time (before it is forwarded). Default: nothing. */
  onStored?: (hash: string) => void;
  /** Whether an envelope hash is stored, answered from memory (sync's hash index, a store read while it loads). Default: a store read. */
  has?: (hash: string) => boolean | Promise<boolean>;
  /** Per-peer verifications and bytes per second and the ban line. Default: DEFAULT_GOSSIP_BUDGET (500 verifications/s, burst 1,000; 8 MiB/s, burst 16 MiB; 3 Rejects or 51 messages over budget within ~10 s ban). */
  budget?: Partial<GossipBudgetLimits>;
  /** The node's ban list, shared with sync and the connection gater. Default: gossip's own. */
  bans?: Bans;
  /** How long a peer past the ban line stays disconnected. Default 10 min. */
  banMs?: number;
  /** Default: nothing logged. */
  log?: (event: string, fields: Record<string, unknown>) => void;
}

/** What gossip takes from libp2p: the gossipsub service, hang-ups, and disconnect events. */
export interface GossipComponents {
  pubsub: Pick<GossipSub, 'topicValidators' | 'subscribe' | 'unsubscribe' | 'publish'>;
  connectionManager: Pick<ConnectionManager, 'closeConnections'>;
  events: Pick<Libp2p, 'addEventListener' | 'removeEventListener'>;
}

export class AttestationGossip implements Startable {
  readonly topic: string;
  readonly counters: GossipCounters = { accepted: 0, rejected: 0, ignored: 0, unread: 0, published: 0, stored: 0, peersBanned: 0 };
  readonly budget: GossipBudget;
  readonly [serviceDependencies] = ['@libp2p/pubsub'];
  readonly [Symbol.toStringTag] = '@stagex/attestation-gossip';
  readonly #init: GossipInit;
  readonly #components: GossipComponents;
  readonly #bans: Bans;
  readonly #queue: WriteQueue;
  #policy: TrustPolicy;
  readonly #onDisconnect = (event: CustomEvent<PeerId>) => this.budget.forget(event.detail.toString());

  constructor(components: GossipComponents, init: GossipInit) {
    this.#components = components;
    this.#init = init;
    this.#policy = init.policy;
    this.topic = attestationTopic(init.networkId);
    this.budget = new GossipBudget(init.budget);
    this.#bans = init.bans ?? new Bans();
    this.#queue = new WriteQueue(init.store);
  }

  start(): void {
    this.#components.pubsub.topicValidators.set(this.topic, (peer, message) => this.#validate(peer, message));
    this.#components.events.addEventListener('peer:disconnect', this.#onDisconnect);
  }

  /** Subscribes once gossipsub runs (it refuses subscriptions before). */
  afterStart(): void {
    this.#components.pubsub.subscribe(this.topic);
  }

  beforeStop(): void {
    this.#components.pubsub.unsubscribe(this.topic);
  }

  async stop(): Promise<void> {
    this.#components.pubsub.topicValidators.delete(this.topic);
    this.#components.events.removeEventListener('peer:disconnect', this.#onDisconnect);
    await this.#queue.drain();
  }

  /** Validates messages that arrive from now on under `policy` (a config reload). */
  setPolicy(policy: TrustPolicy): void {
    this.#policy = policy;
  }

  /** Publishes canonical envelope bytes with one signature that are already stored here. */
  async publish(bytes: Uint8Array): Promise<void> {
    await this.#components.pubsub.publish(this.topic, bytes);
    this.counters.published += 1;
  }

  get #log() {
    return this.#init.log ?? (() => {});
  }

  async #validate(peer: PeerId, message: Message): Promise<TopicValidatorResult> {
    const from = peer.toString();
    if (this.#bans.isBanned(peer)) return this.#unread();
    if (message.data.length > MAX_ENVELOPE_BYTES) return this.#reject(peer, { reason: `message of ${message.data.length} bytes exceeds ${MAX_ENVELOPE_BYTES}` });
    const charged = this.budget.take(from, message.data.length);
    if (!charged.admit) {
      if (charged.ban) this.#ban(peer, 'over its gossip budget');
      return this.#unread();
    }
    let attestation;
    try {
      attestation = readGossipAttestation(message.data, this.#policy, `gossip from ${from}`);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      if (error.code !== 'UNKNOWN_SIGNER') return this.#reject(peer, { code: error.code, reason: error.message });
      this.#log('gossip.ignored', { from, code: error.code, reason: error.message });
      return this.#ignore();
    }
    if (this.#init.has ? await this.#init.has(attestation.hash) : await this.#init.store.has(attestation.hash)) return this.#ignore();
    // Stored before the answer: a valid envelope the per-key cap refuses is Ignored, not forwarded.
    const result = await this.#queue.add(attestation).catch((error: Error) => {
      this.#log('store.error', { error: error.message });
      return undefined;
    });
    if (result !== 'added') {
      if (typeof result === 'object') this.#log('gossip.ignored', { from, code: result.code, reason: result.error });
      return this.#ignore();
    }
    this.counters.accepted += 1;
    this.counters.stored += 1;
    this.#init.onStored?.(attestation.hash);
    return TopicValidatorResult.Accept;
  }

  #unread(): TopicValidatorResult {
    this.counters.unread += 1;
    return this.#ignore();
  }

  #ignore(): TopicValidatorResult {
    this.counters.ignored += 1;
    return TopicValidatorResult.Ignore;
  }

  #reject(peer: PeerId, fields: Record<string, unknown>): TopicValidatorResult {
    this.counters.rejected += 1;
    this.#log('gossip.rejected', { from: peer.toString(), ...fields });
    if (this.budget.reject(peer.toString()).ban) this.#ban(peer, 'repeated invalid messages');
    return TopicValidatorResult.Reject;
  }

  #ban(peer: PeerId, reason: string): void {
    const banMs = this.#init.banMs ?? 600_000;
    this.#bans.ban(peer, banMs);
    this.budget.forget(peer.toString());
    this.counters.peersBanned += 1;
    this.#log('gossip.peer_banned', { peer: peer.toString(), reason, banMs });
    void this.#components.connectionManager.closeConnections(peer).catch(() => undefined);
  }
}

/** The gossip service factory for `createLibp2p({ services: { pubsub: gossipsub(...), gossip: attestationGossip(init) } })`. */
export function attestationGossip(init: GossipInit): (components: GossipComponents) => AttestationGossip {
  return (components) => new AttestationGossip(components, init);
}
