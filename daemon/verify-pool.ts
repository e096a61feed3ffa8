/**
 * Verification on every core (worker threads): catch-up is bounded by ed25519 verification
 * (~12,000/s per core here), not by the wire. Each worker compiles the same trust policy and
 * runs the same pipeline (protocol/attestation.ts) on batches of envelope bytes.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { readAttestation, type Attestation } from '../protocol/attestation.ts';
import { StagexError } from '../protocol/errors.ts';
import type { TrustPolicy, TrustPolicyInput } from '../protocol/trust.ts';

/** Per envelope: the attestation, or why it was refused. */
export type Checked = Attestation | { code: string; error: string };
export type BatchVerifier = (batch: Uint8Array[], where: string) => Promise<Checked[]>;

export interface WorkerReply {
  id: number;
  results: Checked[];
}

export class VerifyPool {
  readonly #trust: TrustPolicyInput;
  readonly #size: number;
  #workers: { worker: Worker; busy: number }[] = [];
  readonly #pending = new Map<number, (reply: WorkerReply) => void>();
  #next = 0;

  /**
   * `size` defaults to the machine's cores. Workers start on first use: a node that never
   * catches up on a large backlog never pays for them (20 daemons share 2 cores in a bench).
   */
  constructor(trust: TrustPolicyInput, size = availableParallelism()) {
    this.#trust = trust;
    this.#size = Math.max(1, size);
  }

  #start(): { worker: Worker; busy: number }[] {
    if (this.#workers.length > 0) return this.#workers;
    this.#workers = Array.from({ length: this.#size }, () => {
      const worker = new Worker(new URL('./verify-worker.ts', import.meta.url), { workerData: this.#trust });
      worker.on('message', (reply: WorkerReply) => {
        this.#pending.get(reply.id)?.(reply);
        this.#pending.delete(reply.id);
      });
      worker.unref();
      return { worker, busy: 0 };
    });
    return this.#workers;
  }

  /** Verifies a batch on the least busy worker; results in input order. */
  readonly verify: BatchVerifier = (batch, where) => {
    const slot = this.#start().reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.#next++;
    slot.busy += 1;
    return new Promise<WorkerReply>((resolve) => {
      this.#pending.set(id, resolve);
      slot.worker.postMessage({ id, batch, where });
    }).then((reply) => {
      slot.busy -= 1;
      return reply.results;
    });
  };

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.worker.terminate()));
  }
}

const YIELD_EVERY = 32;

/**
 * The same pipeline on this thread, for callers without a pool. It yields every 32 envelopes
 * so a store write in progress gets its callbacks run in between.
 */
export function inlineVerifier(policy: TrustPolicy): BatchVerifier {
  return async (batch, where) => {
    const results: Checked[] = [];
    for (const [i, bytes] of batch.entries()) {
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise(setImmediate);
      try {
        results.push(readAttestation(bytes, policy, where));
      } catch (error) {
        if (!(error instanceof StagexError)) throw error;
        results.push({ code: error.code, error: error.message });
      }
    }
    return results;
  };
}
