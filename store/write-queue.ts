/**
 * Groups single inserts that arrive close together (gossip) into one putMany batch: LevelDB
 * takes ~16k envelopes/s in batches against ~11k/s one batch each (NOTES.md).
 */
import type { Attestation } from '../protocol/attestation.ts';
import type { AttestationStore, PutResult } from './store.ts';

export class WriteQueue {
  readonly #store: AttestationStore;
  #pending: { attestation: Attestation; resolve: (r: PutResult) => void; reject: (e: unknown) => void }[] = [];
  #scheduled = false;
  #flushing: Promise<void> = Promise.resolve();

  constructor(store: AttestationStore) {
    this.#store = store;
  }

  /** Queues an insert; resolves when its batch is written. */
  add(attestation: Attestation): Promise<PutResult> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ attestation, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => { this.#flushing = this.#flushing.then(() => this.#flush()); });
      }
    });
  }

  /** Resolves once everything queued so far is written (used at shutdown). */
  async drain(): Promise<void> {
    while (this.#pending.length > 0 || this.#scheduled) {
      await new Promise(setImmediate);
      await this.#flushing;
    }
    await this.#flushing;
  }

  async #flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    if (batch.length === 0) return;
    try {
      const results = await this.#store.putMany(batch.map((p) => p.attestation));
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (error) {
      batch.forEach((p) => p.reject(error));
    }
  }
}
