/**
 * The output digest (DESIGN section 3): an engine's image archive in, the canonical OCI layout out.
 *
 * Memory stays flat whatever the image size: the archive is spooled to disk, layers are indexed
 * by their headers (metadata and data offsets only, about 1 KB per entry), and the canonical layer
 * is written in sorted order by copying each file's data from its offset, hashed as it goes and
 * the spool given back behind it.
 */
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { CanonicalError } from './errors.ts';
import { type LayerRange, spoolImageArchive } from './image-archive.ts';
import { type WrittenLayer, writeLayer } from './layer-writer.ts';
import { blobPath, canonicalConfig, dockerManifest, imageIndex, imageManifest, MEDIA_TYPES, ociLayout } from './oci.ts';
import { type LayerEntry, Squash } from './squash.ts';
import { type ContentRef, readTar } from './tar-reader.ts';

/** The layer's name until its digest is known. */
const LAYER_FILE = '.layer';

export interface CanonicalizeOptions {
  /** Reference ("name:tag") recorded in index.json and manifest.json; not part of any digest. Default: none. */
  tag?: string;
}

/** Digests of the canonical image. */
export interface CanonicalImage {
  /** The output digest: `sha256:` of the image manifest. */
  digest: string;
  /** Byte size of the image manifest (with `digest`, its OCI descriptor). */
  size: number;
  configDigest: string;
  layerDigest: string;
  /** The layer is uncompressed, so its diff id is its digest. */
  diffId: string;
  layerSize: number;
}

/**
 * Reads an image archive (`GET /images/{name}/get`, `docker save`, Podman docker- or oci-archive,
 * BuildKit's OCI export; layers plain, gzip or zstd), as a stream or as the path of a file (read in place, saving the
 * spool copy), and writes its canonical OCI layout to `outDir`: `oci-layout`,
 * `index.json`, `blobs/sha256/..` and a docker `manifest.json` for `docker load`. Work happens in a
 * sibling directory renamed into place at the end, so `outDir` is either complete or untouched.
 * Errors: OUTPUT_EXISTS (outDir is a non-empty directory or a file), BAD_ARCHIVE,
 * UNSUPPORTED_COMPRESSION, BAD_ENCODING (a digest in the archive), BAD_TAR, BAD_LAYER,
 * SPECIAL_FILE, BAD_IMAGE_CONFIG, all CanonicalError.
 */
export async function canonicalize(archive: Readable | string, outDir: string, options: CanonicalizeOptions = {}): Promise<CanonicalImage> {
  const target = resolve(outDir);
  try {
    refuseExisting(target);
    mkdirSync(dirname(target), { recursive: true });
  } catch (error) {
    if (typeof archive !== 'string') archive.destroy();
    throw error;
  }
  const work = mkdtempSync(join(dirname(target), `.${basename(target)}.partial-`));
  try {
    const spool = join(work, 'spool');
    const layout = join(work, 'layout');
    const blobs = join(layout, 'blobs', 'sha256');
    mkdirSync(spool);
    mkdirSync(blobs, { recursive: true });
    const image = await spoolImageArchive(archive, spool);
    let layer: WrittenLayer;
    try {
      layer = await writeCanonicalLayer(image.layers, blobs);
    } finally {
      image.close();
    }
    rmSync(spool, { recursive: true, force: true });
    renameSync(join(blobs, LAYER_FILE), join(layout, blobPath(layer.digest)));
    const layerDescriptor = { mediaType: MEDIA_TYPES.layer, digest: layer.digest, size: layer.size };
    const config = canonicalConfig(image.config, layer.digest);
    const manifest = imageManifest(config.descriptor, layerDescriptor);
    for (const { bytes, descriptor } of [config, manifest]) writeFileSync(join(layout, blobPath(descriptor.digest)), bytes);
    writeFileSync(join(layout, 'oci-layout'), ociLayout());
    writeFileSync(join(layout, 'index.json'), imageIndex(manifest.descriptor, options.tag));
    writeFileSync(join(layout, 'manifest.json'), dockerManifest(config.descriptor, layerDescriptor, options.tag));
    refuseExisting(target);
    renameSync(layout, target);
    return {
      digest: manifest.descriptor.digest,
      size: manifest.descriptor.size,
      configDigest: config.descriptor.digest,
      layerDigest: layer.digest,
      diffId: layer.digest,
      layerSize: layer.size,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Squashes the layers (lowest first) and writes the canonical layer as LAYER_FILE in `dir`. */
async function writeCanonicalLayer(layers: readonly LayerRange[], dir: string): Promise<WrittenLayer> {
  const squash = new Squash<ContentRef>();
  for (const [i, range] of layers.entries()) {
    const where = `layer ${i + 1} of ${layers.length}`;
    const entries: LayerEntry<ContentRef>[] = [];
    for await (const entry of readTar(range.source, range.start, range.end, where)) entries.push(entry);
    squash.applyLayer(entries, where);
  }
  return writeLayer([...squash.entries()], join(dir, LAYER_FILE));
}

/** An empty directory may be replaced (rename takes it); anything else is not ours to overwrite. */
function refuseExisting(target: string): void {
  let entries: string[];
  try {
    entries = readdirSync(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new CanonicalError('OUTPUT_EXISTS', `${target}: expected a missing or empty directory, got ${(error as NodeJS.ErrnoException).code}`, { cause: error });
  }
  if (entries.length > 0) throw new CanonicalError('OUTPUT_EXISTS', `${target}: expected a missing or empty directory, got ${entries.length} entries`);
}
