/**
 * Reads the entries of a tar held in a byte range of a file or spool, by positional reads. Only
 * headers are read; data is skipped and its offset recorded, so indexing a layer costs its headers,
 * not its content, and the canonical layer later copies each file straight from that offset.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { CanonicalError } from './errors.ts';
import type { LayerEntry } from './squash.ts';
import { BLOCK_SIZE, decodeHeader, decodePaxRecords, hasData, paddedSize } from './tar.ts';

/**
 * Bytes read by position: a file (FileSource) or a spool (spool.ts). A spool is told which
 * ranges will be read again (`retain`) and when each was (`release`), so it can give back the rest.
 */
export interface ByteSource {
  /** Fills `buffer[at, at + length)` from `position`; BAD_TAR if the source ends first. */
  read(buffer: Buffer, length: number, position: number, at?: number): void;
  /** `[position, position + length)` will be read once more, before `release` of the same range. */
  retain?(position: number, length: number): void;
  /** Gives back what no retained range needs. */
  trim?(): void;
  /** A retained range has been read. */
  release?(position: number, length: number): void;
}

/** Where a file's data lies: a source and a byte offset in it. */
export interface ContentRef {
  source: ByteSource;
  offset: number;
}

/** Headers are read through a window this large, so runs of small files cost one read. */
const WINDOW = 64 * 1024;
/** pax and GNU long-name records are metadata; more than this is not a sane archive. */
const MAX_METADATA = 8 * 1024 * 1024;
/** Reads are synchronous (page-cache fast); the event loop gets a turn this often. */
const ENTRIES_PER_TURN = 512;

/**
 * The entries of the tar in `[start, end)` of `source`, in archive order, with pax records, GNU long
 * names and global pax headers applied. Ends at the first zero block or at `end`. `where` names the
 * archive in errors (BAD_TAR, with the byte offset).
 */
export async function* readTar(source: ByteSource, start: number, end: number, where: string): AsyncGenerator<LayerEntry<ContentRef>> {
  const window = new Window(source, end);
  const global = new Map<string, string>();
  let local = new Map<string, string>();
  let longName: string | undefined;
  let longLink: string | undefined;
  let position = start;
  for (let count = 1; position < end; count++) {
    const here = `${where} at byte ${position - start}`;
    const header = decodeHeader(window.read(position, BLOCK_SIZE, here), here);
    if (header === null) return;
    position += BLOCK_SIZE;
    if (header.type === 'pax' || header.type === 'pax-global' || header.type === 'gnu-long-name' || header.type === 'gnu-long-link') {
      if (header.size > MAX_METADATA) throw new CanonicalError('BAD_TAR', `${here}: ${header.type} record expected at most ${MAX_METADATA} bytes, got ${header.size}`);
      const data = window.read(position, header.size, here);
      position += paddedSize(header.size);
      if (header.type === 'pax') local = decodePaxRecords(data, here);
      else if (header.type === 'pax-global') decodePaxRecords(data, here).forEach((value, key) => global.set(key, value));
      else if (header.type === 'gnu-long-name') longName = cString(data);
      else longLink = cString(data);
      continue;
    }
    const record = (key: string): string | undefined => local.get(key) ?? global.get(key);
    if ((local.size > 0 || global.size > 0) && [...local.keys(), ...global.keys()].some((key) => key.startsWith('GNU.sparse.'))) {
      throw new CanonicalError('BAD_TAR', `${here}: sparse files are not supported (expected plain files)`);
    }
    const entry: LayerEntry<ContentRef> = {
      path: record('path') ?? longName ?? header.name,
      type: header.type,
      mode: header.mode,
      uid: paxNumber(record('uid'), 'uid', here) ?? header.uid,
      gid: paxNumber(record('gid'), 'gid', here) ?? header.gid,
      size: paxNumber(record('size'), 'size', here) ?? header.size,
      linkname: record('linkpath') ?? longLink ?? header.linkname,
      source: { source, offset: position },
    };
    const capability = record('SCHILY.xattr.security.capability');
    if (capability !== undefined) entry.capability = capability;
    if (local.size > 0) local = new Map();
    longName = undefined;
    longLink = undefined;
    if (hasData(entry.type)) {
      if (position + entry.size > end) {
        throw new CanonicalError('BAD_TAR', `${here}: ${entry.size} bytes of data expected within the archive, got ${end - position} (truncated)`);
      }
      position += paddedSize(entry.size);
    }
    yield entry;
    if (count % ENTRIES_PER_TURN === 0) await nextTurn();
  }
}

/** A cached window over the source, refilled by positional reads. */
class Window {
  readonly #source: ByteSource;
  readonly #end: number;
  readonly #buffer = Buffer.allocUnsafe(WINDOW);
  #from = 0;
  #to = 0;

  constructor(source: ByteSource, end: number) {
    this.#source = source;
    this.#end = end;
  }

  /** `length` bytes at `offset`; valid until the next call. */
  read(offset: number, length: number, where: string): Buffer {
    if (offset + length > this.#end) {
      throw new CanonicalError('BAD_TAR', `${where}: expected ${length} more bytes, got ${Math.max(0, this.#end - offset)} (truncated archive)`);
    }
    if (length > WINDOW) {
      const buffer = Buffer.allocUnsafe(length);
      this.#source.read(buffer, length, offset);
      return buffer;
    }
    if (offset < this.#from || offset + length > this.#to) {
      const wanted = Math.min(WINDOW, this.#end - offset);
      this.#source.read(this.#buffer, wanted, offset);
      this.#from = offset;
      this.#to = offset + wanted;
    }
    return this.#buffer.subarray(offset - this.#from, offset - this.#from + length);
  }
}

/** A file opened for reading, as a source; nothing to give back. */
export class FileSource implements ByteSource {
  readonly #fd: number;
  readonly size: number;

  constructor(path: string) {
    this.#fd = openSync(path, 'r');
    this.size = fstatSync(this.#fd).size;
  }

  read(buffer: Buffer, length: number, position: number, at = 0): void {
    readFully(this.#fd, buffer, length, position, at);
  }

  close(): void {
    closeSync(this.#fd);
  }
}

/** Fills `buffer[at, at + length)` from `position`; a short file is a truncated archive. */
export function readFully(fd: number, buffer: Buffer, length: number, position: number, at = 0): void {
  for (let done = 0; done < length;) {
    const read = readSync(fd, buffer, at + done, length - done, position + done);
    if (read === 0) throw new CanonicalError('BAD_TAR', `expected ${length} bytes at byte ${position}, got ${done} (file truncated)`);
    done += read;
  }
}

function paxNumber(value: string | undefined, key: string, where: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9]{1,15}$/.test(value)) throw new CanonicalError('BAD_TAR', `${where}: pax ${key} expected a decimal number, got ${JSON.stringify(value.slice(0, 40))}`);
  return Number(value);
}

function cString(data: Buffer): string {
  const nul = data.indexOf(0);
  return data.toString('latin1', 0, nul < 0 ? data.length : nul);
}
