/**
 * Writes the canonical layer (DESIGN section 3) to a file while hashing it: each entry's header
 * (protocol/tar.ts), then a file's data copied from where its source layer holds it, then two zero
 * blocks. Output goes through two alternating buffers: one is written while the other is filled
 * and hashed, and memory stays at those two buffers whatever the image size.
 */
import { createHash } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
import type { CanonicalEntry } from '../../protocol/squash.ts';
import { BLOCK_SIZE, encodeHeader, paddedSize } from '../../protocol/tar.ts';
import { type ContentRef, readFully } from './tar-reader.ts';

/** Bytes per write; the event loop gets a turn at each (reads and hashing between are synchronous). */
const CHUNK = 4 * 1024 * 1024;

/** The written layer: `sha256:<hex>` of its bytes (its digest and, uncompressed, its diff id) and its size. */
export interface WrittenLayer {
  digest: string;
  size: number;
}

/** Writes `entries` (sorted, from Squash.entries) as a tar at `path`, which must not exist. */
export async function writeLayer(entries: Iterable<CanonicalEntry<ContentRef>>, path: string): Promise<WrittenLayer> {
  const file = await open(path, 'wx');
  try {
    const out = new HashingOutput(file);
    for (const entry of entries) {
      await out.put(encodeHeader(entry));
      if (entry.type === 'file' && entry.source !== undefined) {
        await out.copy(entry.source, entry.size);
        await out.zeros(paddedSize(entry.size) - entry.size);
      }
    }
    await out.zeros(2 * BLOCK_SIZE);
    return await out.finish();
  } finally {
    await file.close();
  }
}

class HashingOutput {
  readonly #file: FileHandle;
  readonly #buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
  readonly #hash = createHash('sha256');
  #current = 0;
  #used = 0;
  #size = 0;
  #writing: Promise<void> = Promise.resolve();

  constructor(file: FileHandle) {
    this.#file = file;
  }

  async put(bytes: Buffer): Promise<void> {
    for (let at = 0; at < bytes.length;) {
      const n = Math.min(bytes.length - at, CHUNK - this.#used);
      bytes.copy(this.#buffers[this.#current]!, this.#used, at, at + n);
      at += n;
      await this.#advance(n);
    }
  }

  /** Copies `length` bytes at `source` straight into the output buffer. */
  async copy(source: ContentRef, length: number): Promise<void> {
    for (let done = 0; done < length;) {
      const n = Math.min(length - done, CHUNK - this.#used);
      readFully(source.fd, this.#buffers[this.#current]!, n, source.offset + done, this.#used);
      done += n;
      await this.#advance(n);
    }
  }

  async zeros(length: number): Promise<void> {
    for (let done = 0; done < length;) {
      const n = Math.min(length - done, CHUNK - this.#used);
      this.#buffers[this.#current]!.fill(0, this.#used, this.#used + n);
      done += n;
      await this.#advance(n);
    }
  }

  async finish(): Promise<WrittenLayer> {
    await this.#flush();
    await this.#writing;
    return { digest: `sha256:${this.#hash.digest('hex')}`, size: this.#size };
  }

  async #advance(n: number): Promise<void> {
    this.#used += n;
    if (this.#used === CHUNK) await this.#flush();
  }

  /** Hashes the current buffer, waits for the other one's write, then starts writing this one. */
  async #flush(): Promise<void> {
    const bytes = this.#buffers[this.#current]!.subarray(0, this.#used);
    this.#hash.update(bytes);
    this.#size += bytes.length;
    await this.#writing;
    this.#writing = writeAll(this.#file, bytes);
    // Handled when awaited at the next flush; this keeps a failed write from counting as unhandled meanwhile.
    this.#writing.catch(() => undefined);
    this.#current ^= 1;
    this.#used = 0;
  }
}

async function writeAll(file: FileHandle, bytes: Buffer): Promise<void> {
  for (let done = 0; done < bytes.length;) done += (await file.write(bytes, done, bytes.length - done)).bytesWritten;
}
