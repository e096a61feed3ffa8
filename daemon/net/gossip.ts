/**
 * Attestation gossip (DESIGN section 6) on `/stagex/<networkId>/attestations/1`. Every message
 * goes through the one validation pipeline (protocol/attestation.ts) as the topic validator:
 * invalid -> Reject (the sender's score falls), unknown signer or already stored -> Ignore,
 * valid -> Accept, then stored once. Nothing invalid is forwarded.
 */
import { TopicValidatorResult, type Message } from '@libp2p/gossipsub';
import { readAttestation } from '../../protocol/attestation.ts';
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
  /** Called after an accepted envelope is stored for the first time. */
  onStored?: (hash: string) => void;
  /** Whether an envelope hash is stored, answered from memory (sync's hash index); default: a store read. */
  has?: (hash: string) => boolean;
}

export class Gossip {
  readonly topic: string;
  readonly counters: GossipCounters = { accepted: 0, rejected: 0, ignored: 0, published: 0, stored: 0 };
  readonly #init: GossipInit;
  readonly #queue: WriteQueue;
  #node?: Peer;

  constructor(init: GossipInit) {
    this.#init = init;
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

  /** Publishes envelope bytes that are already stored here. */
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
      attestation = readAttestation(message.data, this.#init.policy, `gossip from ${from}`);
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
    this.counters.accepted += 1;
    void this.#queue.add(attestation).then((result) => {
      if (result !== 'added') return;
      this.counters.stored += 1;
      this.#init.onStored?.(attestation.hash);
    }, (error: Error) => log('store.error', { error: error.message }));
    return TopicValidatorResult.Accept;
  }
}
