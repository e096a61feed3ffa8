/**
 * Attestation gossip (DESIGN section 6) on `/stagex/<networkId>/attestations/1`. Every message
 * goes through the validation pipeline's gossip rule (protocol/attestation.ts
 * readGossipAttestation) as the topic validator: invalid, keyless, several signatures or not
 * canonical -> Reject (the sender's score falls); unknown signer (no verification spent),
 * already stored, or refused by the store's per-key cap -> Ignore; otherwise stored, then
 * Accept. So what is forwarded is exactly what this node stored, in canonical bytes.
 */
import { TopicValidatorResult, type Message } from '@libp2p/gossipsub';
import { readGossipAttestation } from '../../protocol/attestation.ts';
import { MAX_ENVELOPE_BYTES } from '../../protocol/dsse.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import type { TrustPolicy } from '../../protocol/trust.ts';
import type { AttestationStore } from '../../store/store.ts';
import { WriteQueue } from '../../store/write-queue.ts';
import type { Peer } from './peer.ts';

export const attestationTopic = (networkId: string) => `/stagex/${networkId}/attestations/1`;

export interface GossipCounters {
  accepted: number;
  rejected: number;
  ignored: number;
  published: number;
  stored: number;
}

export interface GossipInit {
  networkId: string;
  policy: TrustPolicy;
  store: AttestationStore;
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** Called when an envelope from gossip is stored for the first time (before it is forwarded). */
  onStored?: (hash: string) => void;
  /** Whether an envelope hash is stored, answered from memory (sync's hash index); default: a store read. */
  has?: (hash: string) => boolean;
}

export class Gossip {
  readonly topic: string;
  readonly counters: GossipCounters = { accepted: 0, rejected: 0, ignored: 0, published: 0, stored: 0 };
  readonly #init: GossipInit;
  readonly #queue: WriteQueue;
  #policy: TrustPolicy;
  #node?: Peer;

  constructor(init: GossipInit) {
    this.#init = init;
    this.#policy = init.policy;
    this.topic = attestationTopic(init.networkId);
    this.#queue = new WriteQueue(init.store);
  }

  start(node: Peer): void {
    this.#node = node;
    node.services.pubsub.topicValidators.set(this.topic, (peer, message) => this.#validate(peer.toString(), message));
    node.services.pubsub.subscribe(this.topic);
  }

  async stop(): Promise<void> {
    if (this.#node) {
      this.#node.services.pubsub.unsubscribe(this.topic);
      this.#node.services.pubsub.topicValidators.delete(this.topic);
    }
    await this.#queue.drain();
  }

  /** Validates messages that arrive from now on under `policy` (a config reload). */
  setPolicy(policy: TrustPolicy): void {
    this.#policy = policy;
  }

  /** Publishes canonical envelope bytes with one signature that are already stored here. */
  async publish(bytes: Uint8Array): Promise<void> {
    if (!this.#node) return;
    await this.#node.services.pubsub.publish(this.topic, bytes);
    this.counters.published += 1;
  }

  async #validate(from: string, message: Message): Promise<TopicValidatorResult> {
    const log = this.#init.log ?? (() => {});
    if (message.data.length > MAX_ENVELOPE_BYTES) {
      this.counters.rejected += 1;
      log('gossip.rejected', { from, reason: `message of ${message.data.length} bytes exceeds ${MAX_ENVELOPE_BYTES}` });
      return TopicValidatorResult.Reject;
    }
    let attestation;
    try {
      attestation = readGossipAttestation(message.data, this.#policy, `gossip from ${from}`);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      const unknown = error.code === 'UNKNOWN_SIGNER';
      this.counters[unknown ? 'ignored' : 'rejected'] += 1;
      log(unknown ? 'gossip.ignored' : 'gossip.rejected', { from, code: error.code, reason: error.message });
      return unknown ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject;
    }
    if (this.#init.has ? this.#init.has(attestation.hash) : await this.#init.store.has(attestation.hash)) {
      this.counters.ignored += 1;
      return TopicValidatorResult.Ignore;
    }
    // Stored before the answer: a valid envelope the per-key cap refuses is Ignored, not forwarded.
    const result = await this.#queue.add(attestation).catch((error: Error) => {
      log('store.error', { error: error.message });
      return undefined;
    });
    if (result !== 'added') {
      this.counters.ignored += 1;
      if (typeof result === 'object') log('gossip.ignored', { from, code: result.code, reason: result.error });
      return TopicValidatorResult.Ignore;
    }
    this.counters.accepted += 1;
    this.counters.stored += 1;
    this.#init.onStored?.(attestation.hash);
    return TopicValidatorResult.Accept;
  }
}
