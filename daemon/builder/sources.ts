/**
 * A package's sources (DESIGN section 1: `[sources.<id>]`, mirrors tried in order) fetched into a
 * content-addressed cache, `<cacheDir>/sha256/<hex>`. Bytes are hashed while they stream to a
 * temporary file under `<cacheDir>/tmp/` and renamed into place only when their sha256 is the
 * source's `hash`: nothing unverified ever sits at a content address, two fetches of one hash
 * racing each other both land the same bytes, and a filled cache serves with no network at all.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeValue } from '../../protocol/errors.ts';
import type { Source } from '../../protocol/tree/package.ts';
import { BuilderError } from './errors.ts';

/** How long a mirror may stay silent, in ms: before its response headers and between body chunks. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * The most bytes one mirror may send for one source (8 GiB, config builder.maxSourceBytes): the
 * hash is known only at the end, so without a cap a hostile mirror fills the disk first.
 */
export const DEFAULT_MAX_SOURCE_BYTES = 8 * 1024 ** 3;

/** What a fetch did, for logs; `source` is the source id. */
export type SourceEvent =
  | { kind: 'cached'; source: string; path: string }
  | { kind: 'fetched'; source: string; mirror: string; bytes: number; path: string }
  | { kind: 'mirror-failed'; source: string; mirror: string; reason: string };

export interface FetchOptions {
  /** Aborting stops the fetch with SOURCE_ABORTED; no other mirror is tried. */
  signal?: AbortSignal;
  /** Per mirror, the longest silence in ms: waiting for response headers, then between body chunks. Default 60000. */
  timeoutMs?: number;
  /** Per mirror, the most bytes read before it fails as serving other bytes. Default 8 GiB. */
  maxBytes?: number;
  onEvent?: (event: SourceEvent) => void;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The path of `source`'s verified file in the cache, fetched first when it is not there. A file at
 * its content address is trusted without rehashing: only verified bytes are ever renamed there.
 * Mirrors are `http:`, `https:` (redirects followed as fetch does) or `file:`; a non-2xx answer, a
 * connection error, a timeout, another scheme or bytes of another sha256 fail that mirror and the
 * next is tried. When all fail: SOURCE_MISMATCH if any mirror served wrong bytes (a changed or
 * tampered upstream, worth more attention than an outage), else SOURCE_UNAVAILABLE; the message
 * has one line per mirror, `<url>: <why>`. BAD_SOURCE for a hash that is not lowercase sha256 hex.
 */
export async function fetchSource(source: Source, cacheDir: string, options: FetchOptions = {}): Promise<string> {
  const { id, hash } = source;
  if (!SHA256_HEX.test(hash)) throw new BuilderError('BAD_SOURCE', `source ${id}: expected a sha256 of 64 lowercase hex characters, got ${describeValue(hash)}`);
  const path = join(cacheDir, 'sha256', hash);
  if (await isFile(path)) {
    options.onEvent?.({ kind: 'cached', source: id, path });
    return path;
  }
  const tmpDir = join(cacheDir, 'tmp');
  await Promise.all([mkdir(join(cacheDir, 'sha256'), { recursive: true }), mkdir(tmpDir, { recursive: true })]);
  const failures: string[] = [];
  let mismatch = false;
  for (const mirror of source.mirrors) {
    const tmp = join(tmpDir, `${hash}.${randomUUID()}`);
    try {
      const attempt = await tryMirror(source, mirror, tmp, options);
      if (!('reason' in attempt)) {
        await rename(tmp, path);
        options.onEvent?.({ kind: 'fetched', source: id, mirror, bytes: attempt.bytes, path });
        return path;
      }
      mismatch ||= attempt.mismatch;
      failures.push(`${mirror}: ${attempt.reason}`);
      options.onEvent?.({ kind: 'mirror-failed', source: id, mirror, reason: attempt.reason });
    } finally {
      await rm(tmp, { force: true });
    }
  }
  const what = mismatch ? 'no mirror served the expected bytes' : 'no mirror served it';
  throw new BuilderError(mismatch ? 'SOURCE_MISMATCH' : 'SOURCE_UNAVAILABLE', `source ${id} (${source.file}): ${what}, tried ${failures.length}:\n${failures.map((f) => `  ${f}`).join('\n')}`);
}

/**
 * Fetches a package's sources one after another (they are few, and usually large); a Map from
 * source id to cache path. The first source that cannot be fetched throws, as fetchSource does.
 */
export async function fetchSources(sources: readonly Source[], cacheDir: string, options: FetchOptions = {}): Promise<Map<string, string>> {
  await clearStaleTemporaries(join(cacheDir, 'tmp'));
  const paths = new Map<string, string>();
  for (const source of sources) paths.set(source.id, await fetchSource(source, cacheDir, options));
  return paths;
}

/**
 * Removes what fetches that crashed left in `<cacheDir>/tmp/`: files last written before this
 * process started. A fetch running in this process wrote its file later, and one running in
 * another process keeps its file's mtime fresh as it writes, so neither is touched.
 */
export async function clearStaleTemporaries(tmpDir: string, startedAt = Date.now() - performance.now()): Promise<void> {
  const names = await readdir(tmpDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  for (const name of names) {
    const path = join(tmpDir, name);
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile() && info.mtimeMs < startedAt) await rm(path, { force: true });
  }
}

/** A mirror's bytes in `tmp` with their size, or why it failed; throws only when the caller aborts. */
async function tryMirror(source: Source, mirror: string, tmp: string, options: FetchOptions): Promise<{ bytes: number } | { reason: string; mismatch: boolean }> {
  let got: { hash: string; bytes: number };
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_SOURCE_BYTES;
  try {
    got = await download(mirror, tmp, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, maxBytes, options.signal);
  } catch (error) {
    if (options.signal?.aborted === true) throw new BuilderError('SOURCE_ABORTED', `source ${source.id} (${source.file}): aborted at ${mirror} (${String(options.signal.reason)})`, { cause: error });
    // Past the cap the bytes cannot be the pinned ones (unless the cap is set too low): wrong bytes.
    if (error instanceof TooLarge) return { reason: `expected at most ${maxBytes} bytes (builder.maxSourceBytes), got more; stopped there`, mismatch: true };
    return { reason: explain(error), mismatch: false };
  }
  if (got.hash !== source.hash) return { reason: `expected sha256 ${source.hash}, got ${got.hash} (${got.bytes} bytes)`, mismatch: true };
  return { bytes: got.bytes };
}

/** Streams one mirror's bytes to `tmp`, hashing them; throws on any failure short of a wrong hash. */
class TooLarge extends Error {}

async function download(mirror: string, tmp: string, timeoutMs: number, maxBytes: number, signal?: AbortSignal): Promise<{ hash: string; bytes: number }> {
  const silence = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => silence.abort(), timeoutMs);
  };
  const both = signal === undefined ? silence.signal : AbortSignal.any([signal, silence.signal]);
  const hasher = createHash('sha256');
  let bytes = 0;
  arm();
  try {
    const body = await open(new URL(mirror), both);
    const file = createWriteStream(tmp, { flags: 'wx' });
    try {
      await pipeline(body, async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          arm();
          bytes += chunk.length;
          if (bytes > maxBytes) throw new TooLarge();
          hasher.update(chunk);
          yield chunk;
        }
      }, file, { signal: both });
    } finally {
      // The pipeline settles without waiting for the file stream to finish opening and closing
      // its file: the caller's rm then ran beside the open and, about 1 fetch in 1,000, missed it.
      if (!file.closed) await new Promise<void>((resolve) => file.once('close', () => resolve()));
    }
    return { hash: hasher.digest('hex'), bytes };
  } catch (error) {
    if (silence.signal.aborted && signal?.aborted !== true) throw new Error(`timed out: nothing received for ${timeoutMs} ms`, { cause: error });
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

async function open(url: URL, signal: AbortSignal): Promise<Readable> {
  if (url.protocol === 'file:') return createReadStream(fileURLToPath(url), { signal });
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported scheme ${url.protocol}, expected http:, https: or file:`);
  const response = await fetch(url, { signal });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`HTTP ${response.status} ${response.statusText}`.trimEnd());
  }
  return response.body === null ? Readable.from([]) : Readable.fromWeb(response.body as ReadableStream<Uint8Array>);
}

/** fetch's own message is only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, ..) is its cause. */
function explain(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { message?: string; code?: string } | undefined;
  const detail = error.message === 'fetch failed' ? cause?.message || cause?.code : undefined;
  return detail === undefined ? error.message : `${error.message}: ${detail}`;
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((info) => info.isFile(), () => false);
}

/** What `addSources` did with one file of the directory. */
export type AddedSource =
  | { result: 'added' | 'cached'; file: string; sources: string[] }
  | { result: 'refused'; file: string; sources: string[]; reason: string }
  /** No source of the tree has this file name: left alone. */
  | { result: 'unknown'; file: string };

/**
 * Fills the cache from a directory of source files, an air-gapped reproducer's path (`stagex-node
 * sources add`): each file named like a source of `sources` is fetched from its `file:` URL
 * through fetchSource, so it is hashed as it is copied and lands at its content address only when
 * its sha256 is the pinned one; a file with other bytes is refused with both hashes and changes
 * nothing. Files that are no source are reported, not read. One row per file, sorted.
 */
export async function addSources(dir: string, sources: readonly Source[], cacheDir: string): Promise<AddedSource[]> {
  const byFile = new Map<string, Source[]>();
  for (const source of sources) byFile.set(source.file, [...(byFile.get(source.file) ?? []), source]);
  const files = (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => entry.name).sort();
  const rows: AddedSource[] = [];
  for (const file of files) {
    const matching = byFile.get(file);
    if (matching === undefined) {
      rows.push({ result: 'unknown', file });
      continue;
    }
    const names = matching.map((s) => s.id);
    const cached = await Promise.all(matching.map((s) => isFile(join(cacheDir, 'sha256', s.hash))));
    try {
      for (const source of matching) await fetchSource({ ...source, mirrors: [pathToFileURL(join(dir, file)).href] }, cacheDir);
      rows.push({ result: cached.every(Boolean) ? 'cached' : 'added', file, sources: names });
    } catch (error) {
      if (!(error instanceof BuilderError)) throw error;
      rows.push({ result: 'refused', file, sources: names, reason: error.message });
    }
  }
  return rows;
}
