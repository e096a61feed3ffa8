/**
 * Image archives as engines export them (DESIGN section 3): Docker's `GET /images/{name}/get` and
 * `docker save` (`manifest.json` with `<id>/layer.tar`, or `blobs/sha256/..` since Docker 25),
 * Podman's docker-archive (`manifest.json`) and oci-archive (`index.json`), BuildKit's OCI export
 * (`index.json` naming an image index of one platform's manifest and its attestation manifests).
 * The stream is spooled to disk (spool.ts) and indexed by offsets, never held in memory;
 * compressed layers are decompressed to spools of their own.
 */
import { posix } from 'node:path';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { CanonicalError } from './errors.ts';
import { blobPath, MEDIA_TYPES } from './oci.ts';
import { type LayerEntry, splitPath } from './squash.ts';
import { Spool, spoolStream } from './spool.ts';
import { type ByteSource, type ContentRef, FileSource, readTar } from './tar-reader.ts';

/** An uncompressed layer tar: bytes `[start, end)` of a source. */
export interface LayerRange {
  source: ByteSource;
  start: number;
  end: number;
}

/** A spooled image: its engine config and its layers, lowest first. `close` releases the files. */
export interface SpooledImage {
  config: unknown;
  layers: LayerRange[];
  close(): void;
}

/** JSON documents of an archive (manifests, configs) larger than this are refused. */
const MAX_JSON = 16 * 1024 * 1024;
/** Symlinks followed inside the archive (`docker save` links repeated `layer.tar`s). */
const MAX_LINKS = 40;
/** Bytes of a compressed layer read at a time. */
const CHUNK = 64 * 1024;
const INDEX_TYPES = new Set([MEDIA_TYPES.index, 'application/vnd.docker.distribution.manifest.list.v2+json']);

type Files = Map<string, LayerEntry<ContentRef>>;

/**
 * Spools `archive` into `dir` (which must exist and be empty) and finds its config and layers. An
 * archive already in a file (a path) is read in place; only compressed layers are written to `dir`.
 */
export async function spoolImageArchive(archive: Readable | string, dir: string): Promise<SpooledImage> {
  const opened: (FileSource | Spool)[] = [];
  const close = (): void => opened.splice(0).forEach((file) => file.close());
  try {
    const source = typeof archive === 'string' ? new FileSource(archive) : await spoolStream(archive, dir, 'archive');
    opened.push(source);
    const files: Files = new Map();
    for await (const entry of readTar(source, 0, source.size, 'image archive')) {
      files.set(splitPath(entry.path, 'image archive').join('/'), entry);
    }
    const image = files.has('manifest.json') ? dockerImage(files) : files.has('index.json') ? ociImage(files) : undefined;
    if (image === undefined) throw new CanonicalError('BAD_ARCHIVE', `image archive: expected manifest.json (docker-archive) or index.json (OCI layout), got neither among ${files.size} entries`);
    const config = readJson(files, image.config);
    const layers: LayerRange[] = [];
    for (const [i, path] of image.layers.entries()) {
      const range = locate(files, path);
      const inflated = await decompressed(range, dir, `layer-${i}`, `layer ${i + 1} (${path})`);
      if (inflated !== undefined) opened.push(inflated);
      layers.push(inflated === undefined ? range : { source: inflated, start: 0, end: inflated.size });
    }
    return { config, layers, close };
  } catch (error) {
    close();
    throw error;
  }
}

/** `manifest.json`: one image, `Config` and `Layers` as paths inside the archive. */
function dockerImage(files: Files): { config: string; layers: string[] } {
  const manifest = readJson(files, 'manifest.json');
  if (!Array.isArray(manifest) || manifest.length !== 1) {
    throw new CanonicalError('BAD_ARCHIVE', `manifest.json: expected an array of one image, got ${Array.isArray(manifest) ? `${manifest.length} images` : typeof manifest}`);
  }
  const { Config, Layers } = (manifest[0] ?? {}) as { Config?: unknown; Layers?: unknown };
  if (typeof Config !== 'string' || !Array.isArray(Layers) || !Layers.every((layer) => typeof layer === 'string')) {
    throw new CanonicalError('BAD_ARCHIVE', 'manifest.json: expected "Config" as a path and "Layers" as an array of paths');
  }
  return { config: Config, layers: Layers };
}

/** `index.json`, followed through nested indexes to the one image manifest. */
function ociImage(files: Files): { config: string; layers: string[] } {
  let document = readJson(files, 'index.json');
  let where = 'index.json';
  for (let depth = 0; isIndex(document); depth++) {
    // BuildKit lists attestation manifests as platform unknown/unknown: they are not the image.
    const images = (isObject(document) && Array.isArray(document.manifests) ? document.manifests : [])
      .filter((descriptor) => !(isObject(descriptor) && isObject(descriptor.platform) && descriptor.platform.os === 'unknown'));
    const only = images[0];
    if (images.length !== 1 || !isObject(only) || typeof only.digest !== 'string' || depth > 4) {
      throw new CanonicalError('BAD_ARCHIVE', `${where}: expected one image manifest, got ${images.length}${depth > 4 ? ' (indexes nested too deep)' : ''}`);
    }
    where = only.digest;
    document = readJson(files, blobPath(only.digest));
  }
  const manifest = document as { config?: { digest?: unknown }; layers?: { digest?: unknown }[] };
  if (typeof manifest.config?.digest !== 'string' || !Array.isArray(manifest.layers) || !manifest.layers.every((layer) => typeof layer?.digest === 'string')) {
    throw new CanonicalError('BAD_ARCHIVE', `${where}: expected an image manifest with config and layers descriptors`);
  }
  return { config: blobPath(manifest.config.digest), layers: manifest.layers.map((layer) => blobPath(layer.digest as string)) };
}

function isIndex(document: unknown): boolean {
  return isObject(document) && (INDEX_TYPES.has(document.mediaType as string) || (document.mediaType === undefined && Array.isArray(document.manifests)));
}

/** The byte range of a regular file in the archive, following symlinks and hard links. */
function locate(files: Files, path: string): LayerRange {
  let key = splitPath(path, 'image archive').join('/');
  for (let hops = 0; hops <= MAX_LINKS; hops++) {
    const entry = files.get(key);
    if (entry === undefined) throw new CanonicalError('BAD_ARCHIVE', `image archive: expected a file at ${JSON.stringify(path)}, got nothing at ${JSON.stringify(key)}`);
    if (entry.type === 'file') return { source: entry.source.source, start: entry.source.offset, end: entry.source.offset + entry.size };
    if (entry.type !== 'symlink' && entry.type !== 'hardlink') throw new CanonicalError('BAD_ARCHIVE', `image archive: expected a file at ${JSON.stringify(key)}, got a ${entry.type}`);
    const target = entry.type === 'symlink' ? posix.join(posix.dirname(key), entry.linkname) : entry.linkname;
    key = splitPath(posix.normalize(target), 'image archive').join('/');
  }
  throw new CanonicalError('BAD_ARCHIVE', `image archive: ${JSON.stringify(path)} expected to resolve within ${MAX_LINKS} links, got more`);
}

function readJson(files: Files, path: string): unknown {
  const { source, start, end } = locate(files, path);
  if (end - start > MAX_JSON) throw new CanonicalError('BAD_ARCHIVE', `image archive: ${path} expected at most ${MAX_JSON} bytes of JSON, got ${end - start}`);
  const buffer = Buffer.allocUnsafe(end - start);
  source.read(buffer, end - start, start);
  try {
    return JSON.parse(buffer.toString('utf8'));
  } catch (error) {
    throw new CanonicalError('BAD_ARCHIVE', `image archive: ${path} expected JSON, got a parse error: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * A compressed layer (by magic number) decompressed to a spool `name` in `dir`; undefined for a
 * plain tar, which is read where it is.
 */
async function decompressed(range: LayerRange, dir: string, name: string, where: string): Promise<Spool | undefined> {
  const magic = Buffer.alloc(6);
  range.source.read(magic, Math.min(magic.length, range.end - range.start), range.start);
  let decompressor: Transform;
  if (magic[0] === 0x1f && magic[1] === 0x8b) decompressor = createGunzip();
  else if (magic.readUInt32LE(0) === 0xfd2fb528) decompressor = createZstdDecompress();
  else if (magic.toString('latin1', 0, 3) === 'BZh' || magic.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) {
    throw new CanonicalError('UNSUPPORTED_COMPRESSION', `${where}: expected a plain, gzip or zstd tar, got bzip2 or xz data`);
  } else return undefined;
  const spool = new Spool(dir, name);
  try {
    await pipeline(Readable.from(chunksOf(range)), decompressor, async (inflated: AsyncIterable<Buffer>) => {
      for await (const chunk of inflated) spool.append(chunk);
    });
  } catch (error) {
    spool.close();
    throw new CanonicalError('BAD_ARCHIVE', `${where}: expected valid compressed data, got ${(error as Error).message}`, { cause: error });
  }
  return spool;
}

/** The bytes of `range`, CHUNK at a time. */
function* chunksOf({ source, start, end }: LayerRange): Generator<Buffer> {
  for (let at = start; at < end; at += CHUNK) {
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK, end - at));
    source.read(chunk, chunk.length, at);
    yield chunk;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
