/**
 * A stream spooled to disk, read by position as one file (DESIGN section 3: an image archive
 * arrives in archive order, its canonical layer is written in path order). It is kept in segment
 * files so that it can shrink while the canonical layer is written: a segment is deleted as soon as
 * no range still to be read needs it. Page cache then holds the image about once instead of twice
 * unless the archive's order is far from path order (the bench's archive, interleaved by directory,
 * peaks at 1.15 times; bench/RESULTS.md, "Output digest").
 */
import { closeSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CanonicalError } from './errors.ts';
import { writeAll } from './layer-writer.ts';
import { type ByteSource, readFully } from './tar-reader.ts';

/** Bytes per segment file: what the spool gives back at a time, and 64 open files per GiB. */
const SEGMENT_SIZE = 16 * 1024 * 1024;

export class Spool implements ByteSource {
  readonly #dir: string;
  readonly #name: string;
  /** Open segment files; undefined once given back. */
  readonly #segments: (number | undefined)[] = [];
  /** Per segment, the retained ranges that touch it. */
  readonly #retained: number[] = [];
  #size = 0;

  /** A new, empty spool of segment files `<name>-<n>` in `dir`. */
  constructor(dir: string, name: string) {
    this.#dir = dir;
    this.#name = name;
  }

  get size(): number {
    return this.#size;
  }

  /** Adds `bytes` at the end (in writes of writeAll's size). */
  append(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length;) {
      const offset = this.#size % SEGMENT_SIZE;
      if (offset === 0) {
        this.#segments.push(openSync(this.#path(this.#segments.length), 'wx+'));
        this.#retained.push(0);
      }
      const n = Math.min(bytes.length - at, SEGMENT_SIZE - offset);
      writeAll(this.#segments.at(-1)!, bytes.subarray(at, at + n));
      at += n;
      this.#size += n;
    }
  }

  read(buffer: Buffer, length: number, position: number, at = 0): void {
    if (position + length > this.#size) {
      throw new CanonicalError('BAD_TAR', `expected ${length} bytes at byte ${position}, got ${Math.max(0, this.#size - position)} (truncated archive)`);
    }
    for (let done = 0; done < length;) {
      const segment = Math.floor((position + done) / SEGMENT_SIZE);
      const fd = this.#segments[segment];
      if (fd === undefined) throw new Error(`spool ${this.#name}: segment ${segment} read after it was given back`);
      const offset = (position + done) % SEGMENT_SIZE;
      const n = Math.min(length - done, SEGMENT_SIZE - offset);
      readFully(fd, buffer, n, offset, at + done);
      done += n;
    }
  }

  retain(position: number, length: number): void {
    for (const segment of this.#touched(position, length)) this.#retained[segment]! += 1;
  }

  trim(): void {
    for (const [segment, count] of this.#retained.entries()) if (count === 0) this.#giveBack(segment);
  }

  release(position: number, length: number): void {
    for (const segment of this.#touched(position, length)) {
      if (--this.#retained[segment]! === 0) this.#giveBack(segment);
    }
  }

  /** Closes the segment files left; deleting them is the caller's (they live in its directory). */
  close(): void {
    for (const fd of this.#segments.splice(0)) if (fd !== undefined) closeSync(fd);
  }

  /** The segments holding `[position, position + length)`. */
  #touched(position: number, length: number): number[] {
    const segments: number[] = [];
    if (length === 0) return segments;
    for (let segment = Math.floor(position / SEGMENT_SIZE); segment * SEGMENT_SIZE < position + length; segment++) segments.push(segment);
    return segments;
  }

  #giveBack(segment: number): void {
    const fd = this.#segments[segment];
    if (fd === undefined) return;
    this.#segments[segment] = undefined;
    closeSync(fd);
    rmSync(this.#path(segment));
  }

  #path(segment: number): string {
    return join(this.#dir, `${this.#name}-${segment}`);
  }
}

/** Spools `stream` into a new Spool, each chunk written as it arrives. */
export async function spoolStream(stream: AsyncIterable<unknown>, dir: string, name: string): Promise<Spool> {
  const spool = new Spool(dir, name);
  try {
    for await (const chunk of stream) spool.append(chunk as Uint8Array);
    return spool;
  } catch (error) {
    spool.close();
    throw error;
  }
}
