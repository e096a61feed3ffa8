/**
 * The sha256 of a file while it is being written, computed by a worker thread that reads each
 * written part back, so hashing runs on another core beside the writer instead of between its
 * reads and writes (bench/RESULTS.md, "Output digest").
 */
import { Worker } from 'node:worker_threads';

/** What the worker gets: the file, and where the writer publishes its progress. */
interface HashJob {
  path: string;
  /** Bytes written so far, or -(size + 1) once the file is complete at `size` bytes. */
  progress: BigInt64Array;
}

export class TrailingHash {
  readonly #progress = new BigInt64Array(new SharedArrayBuffer(BigInt64Array.BYTES_PER_ELEMENT));
  readonly #worker: Worker;
  readonly #digest: Promise<string>;

  /** Starts hashing `path`, which must exist; it is read only as far as `written` says. */
  constructor(path: string) {
    const job: HashJob = { path, progress: this.#progress };
    // The worker runs hashFile from its source text: a worker module in TypeScript would first load
    // Node's type stripper, 0.1 s and 13 MiB more for each image.
    this.#worker = new Worker(`(${hashFile.toString()})()`, { eval: true, workerData: job });
    this.#digest = new Promise((resolve, reject) => {
      this.#worker.once('message', resolve);
      this.#worker.once('error', reject);
      this.#worker.once('exit', (code) => reject(new Error(`hash worker for ${path} exited with code ${code} before its digest`)));
    });
    // Awaited by digest(); when the writer fails instead, stop() ends the worker and nobody asks.
    this.#digest.catch(() => undefined);
  }

  /** The first `size` bytes of the file are written. */
  written(size: number): void {
    this.#publish(BigInt(size));
  }

  /** The hex digest of the file, complete at `size` bytes. */
  digest(size: number): Promise<string> {
    this.#publish(-BigInt(size) - 1n);
    return this.#digest;
  }

  async stop(): Promise<void> {
    await this.#worker.terminate();
  }

  #publish(progress: bigint): void {
    Atomics.store(this.#progress, 0, progress);
    Atomics.notify(this.#progress, 0);
  }
}

/**
 * The worker: hashes what is written, sleeps on the progress counter when it has caught up, and
 * posts the hex digest at the end. It runs from its source text, so it uses nothing from outside
 * its body.
 */
function hashFile(): void {
  const { createHash } = process.getBuiltinModule('node:crypto');
  const { closeSync, openSync, readSync } = process.getBuiltinModule('node:fs');
  const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
  const { path, progress } = workerData as HashJob;
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  const fd = openSync(path, 'r');
  try {
    for (let hashed = 0; ;) {
      const state = Atomics.load(progress, 0);
      const written = Number(state < 0n ? -state - 1n : state);
      if (hashed < written) {
        const read = readSync(fd, buffer, 0, Math.min(buffer.length, written - hashed), hashed);
        if (read === 0) throw new Error(`${path}: expected ${written} bytes to hash, got ${hashed} (file truncated)`);
        hash.update(buffer.subarray(0, read));
        hashed += read;
      } else if (state < 0n) {
        break;
      } else {
        Atomics.wait(progress, 0, state);
      }
    }
  } finally {
    closeSync(fd);
  }
  parentPort!.postMessage(hash.digest('hex'));
}
