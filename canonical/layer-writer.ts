/**
 * Writes the canonical layer (DESIGN section 3) to a file and hashes it: each entry's header
 * (tar.ts), then a file's data copied from where its source layer holds it, then two zero
 * blocks. Output is assembled in one buffer and written when full, and hashed behind the writer
 * on another core (trailing-hash.ts). A spooled source is given back as its data is copied
 * (spool.ts). Memory stays at that buffer, and the hashing worker's, whatever the image size.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { CanonicalEntry } from './squash.ts';
import { BLOCK_SIZE, encodeHeader, paddedSize } from './tar.ts';
import type { ByteSource, ContentRef } from './tar-reader.ts';
import { TrailingHash } from './trailing-hash.ts';

/** Bytes assembled before they are written; the event loop gets a turn at each write. */
const CHUNK = 1024 * 1024;
/**
 * Bytes per write system call. Since Linux 6.16, ext4 caches a larger write in larger page-cache
 * folios, which measured several times slower to fill here: 1 GiB took 2.6-4.2 s in 4 MiB writes,
 * 0.3-0.6 s in 32 KiB writes (bench/RESULTS.md, "Output digest").
 */
const WRITE_SIZE = 32 * 1024;

/** The written layer: `sha256:<hex>` of its bytes (its digest and, uncompressed, its diff id) and its size. */
export interface WrittenLayer {
  digest: string;
  size: number;
}

/**
 * Writes `entries` (sorted, from Squash.entries) as a tar at `path`, which must not exist. Their
 * sources are then done with: each range is released once copied, and a spool shrinks behind it.
 */
export async function writeLayer(entries: readonly CanonicalEntry<ContentRef>[], path: string): Promise<WrittenLayer> {
  const sources = new Set<ByteSource>();
  for (const entry of entries) {
    if (entry.type !== 'file' || entry.source === undefined) continue;
    entry.source.source.retain?.(entry.source.offset, entry.size);
    sources.add(entry.source.source);
  }
  for (const source of sources) source.trim?.();
  const fd = openSync(path, 'wx');
  let hash: TrailingHash | undefined;
  try {
    hash = new TrailingHash(path);
    const out = new Output(fd, hash);
    for (const entry of entries) {
      await out.put(encodeHeader(entry));
      if (entry.type === 'file' && entry.source !== undefined) {
        await out.copy(entry.source, entry.size);
        entry.source.source.release?.(entry.source.offset, entry.size);
        await out.zeros(paddedSize(entry.size) - entry.size);
      }
    }
    await out.zeros(2 * BLOCK_SIZE);
    const size = out.finish();
    return { digest: `sha256:${await hash.digest(size)}`, size };
  } finally {
    closeSync(fd);
    await hash?.stop();
  }
}

/** Writes all of `bytes` at the file's current position, WRITE_SIZE at a time. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, Math.min(WRITE_SIZE, bytes.length - done));
}

/** The layer file being written: bytes gather in a buffer, written (and so hashed) when it is full. */
class Output {
  readonly #fd: number;
  readonly #hash: TrailingHash;
  readonly #buffer = Buffer.allocUnsafe(CHUNK);
  #used = 0;
  #size = 0;

  constructor(fd: number, hash: TrailingHash) {
    this.#fd = fd;
    this.#hash = hash;
  }

  async put(bytes: Buffer): Promise<void> {
    for (let at = 0; at < bytes.length;) {
      const n = Math.min(bytes.length - at, CHUNK - this.#used);
      bytes.copy(this.#buffer, this.#used, at, at + n);
      at += n;
      await this.#advance(n);
    }
  }

  /** Copies `length` bytes at `ref` straight into the buffer. */
  async copy(ref: ContentRef, length: number): Promise<void> {
    for (let done = 0; done < length;) {
      const n = Math.min(length - done, CHUNK - this.#used);
      ref.source.read(this.#buffer, n, ref.offset + done, this.#used);
      done += n;
      await this.#advance(n);
    }
  }

  async zeros(length: number): Promise<void> {
    for (let done = 0; done < length;) {
      const n = Math.min(length - done, CHUNK - this.#used);
      this.#buffer.fill(0, this.#used, this.#used + n);
      done += n;
      await this.#advance(n);
    }
  }

  /** Writes what is left; the layer's size. */
  finish(): number {
    this.#write();
    return this.#size;
  }

  async #advance(n: number): Promise<void> {
    this.#used += n;
    if (this.#used < CHUNK) return;
    this.#write();
    this.#hash.written(this.#size);
    await nextTurn();
  }

  #write(): void {
    writeAll(this.#fd, this.#buffer.subarray(0, this.#used));
    this.#size += this.#used;
    this.#used = 0;
  }
}
