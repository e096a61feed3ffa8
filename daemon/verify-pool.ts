/**
 * Verification on every core (worker threads): catch-up is bounded by ed25519 verification
 * (~12,000/s per core here), not by the wire. Each worker compiles the same trust policy (again
 * when the config is reloaded) and runs the same pipeline (protocol/attestation.ts) on batches of
 * envelope bytes. A batch is split across the workers, so every core works on it; each part
 * crosses as one transferred buffer each way (daemon/verify-transfer.ts).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { readAttestation, type Attestation, type Vote } from '../protocol/attestation.ts';
import { StagexError } from '../protocol/errors.ts';
import type { TrustPolicy, TrustPolicyInput } from '../protocol/trust.ts';
import { DaemonError } from './errors.ts';
import { pack, transferOf, unpack, type Packed } from './verify-transfer.ts';

/** Per envelope: the attestation, or why it was refused. */
export type Checked = Attestation | { code: string; error: string };
export type BatchVerifier = (batch: Uint8Array[], where: string) => Promise<Checked[]>;

/**
 * From a worker, per envelope of a batch: the attestation without its bytes, or why it was
 * refused; `bytes` holds the canonical bytes of the attestations, in order.
 */
export interface WorkerReply {
  id: number;
  results: ({ hash: string; votes: Vote[] } | { code: string; error: string })[];
  bytes: Packed;
}

/** To a worker: a batch of envelopes to verify, or the policy for the batches after it. */
export type WorkerMessage = { id: number; batch: Packed; where: string } | { trust: TrustPolicyInput };

/** A batch is split across workers only in parts of at least this many envelopes. */
const MIN_PART = 16;

interface Slot {
  worker: Worker;
  /** Batches sent to this worker and not answered yet, by request id. */
  pending: Map<number, { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void }>;
}

export class VerifyPool {
  #trust: TrustPolicyInput;
  readonly #size: number;
  readonly #script: URL;
  #slots: Slot[] = [];
  #next = 0;
  #closed = false;

  /**
   * `size` defaults to the machine's cores. Workers start on first use: a node that never
   * catches up on a large backlog never pays for them (20 daemons share 2 cores in a bench).
   * `script` is the worker's module (tests pass one that crashes).
   */
  constructor(trust: TrustPolicyInput, size = availableParallelism(), script = new URL('./verify-worker.ts', import.meta.url)) {
    this.#trust = trust;
    this.#size = Math.max(1, size);
    this.#script = script;
  }

  #start(): Slot[] {
    if (this.#slots.length === 0) this.#slots = Array.from({ length: this.#size }, () => this.#spawn());
    return this.#slots;
  }

  /**
   * A worker in a slot. When it dies (an uncaught error, out of memory, exit) its batches are
   * rejected, never left pending, and a fresh worker takes the slot for the next batches.
   */
  #spawn(): Slot {
    const slot: Slot = { worker: new Worker(this.#script, { workerData: this.#trust }), pending: new Map() };
    slot.worker.on('message', (reply: WorkerReply) => {
      slot.pending.get(reply.id)?.resolve(reply);
      slot.pending.delete(reply.id);
    });
    let failure: Error | undefined;
    slot.worker.once('error', (error) => {
      failure = error;
    });
    slot.worker.once('exit', (code) => {
      const index = this.#slots.indexOf(slot);
      const why = failure ? `failed: ${failure.message}` : `exited with code ${code}`;
      for (const { reject } of slot.pending.values()) reject(new DaemonError('VERIFY_WORKER_FAILED', `verify worker ${index}: expected an answer to each batch, got none: it ${why}`, { cause: failure }));
      slot.pending.clear();
      if (!this.#closed && index !== -1) this.#slots[index] = this.#spawn();
    });
    slot.worker.unref();
    return slot;
  }

  /**
   * Verifies later batches under another policy (a config reload): each running worker gets it
   * before any batch sent after this call, and workers started later start with it.
   */
  setTrust(trust: TrustPolicyInput): void {
    this.#trust = trust;
    for (const slot of this.#slots) slot.worker.postMessage({ trust } satisfies WorkerMessage);
  }

  /**
   * Verifies a batch in parts, one per worker (each to the least busy one), so every core works
   * on it; results in input order.
   */
  readonly verify: BatchVerifier = async (batch, where) => {
    if (this.#closed) throw new DaemonError('VERIFY_WORKER_FAILED', `verify pool: expected an open pool, got a closed one (${where})`);
    const slots = this.#start();
    const parts = Math.max(1, Math.min(slots.length, Math.floor(batch.length / MIN_PART)));
    const size = Math.ceil(batch.length / parts);
    const replies = await Promise.all(Array.from({ length: parts }, (_, i) => this.#send(batch.slice(i * size, (i + 1) * size), where)));
    return replies.flat();
  };

  /** One part of a batch to the least busy worker. */
  #send(part: Uint8Array[], where: string): Promise<Checked[]> {
    const slot = this.#slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.#next++;
    const packed = pack(part);
    return new Promise<WorkerReply>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, batch: packed, where } satisfies WorkerMessage, transferOf(packed));
    }).then(checkedOf);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }
}

/** A worker's reply as the pipeline's results, each attestation with a view of its bytes. */
function checkedOf(reply: WorkerReply): Checked[] {
  const bytes = unpack(reply.bytes);
  let next = 0;
  return reply.results.map((r) => ('votes' in r ? { hash: r.hash, bytes: bytes[next++]!, votes: r.votes } : r));
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
