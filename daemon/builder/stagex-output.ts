/**
 * The release recipe's OCI export (DESIGN section 3, "The StageX digest"): the tar BuildKit
 * writes, unpacked into an OCI layout that dependants' builds name as
 * `--build-context stagex/<image>=oci-layout://<dir>` (their manifests carry its layers, so only
 * this layout, never the canonical one, reproduces their StageX digests), and its per-platform
 * manifest digest: what `digests/<stage>.txt` lists, users pull and StageX maintainers sign.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { layoutTar } from '../../canonical/index.ts';
import { inputTag } from './api-build.ts';
import type { Engine } from './engine.ts';
import { BuilderError } from './errors.ts';

/** An OCI export is a few JSON documents and blobs; a path outside `blobs/sha256/` or the top-level files is refused. */
const LAYOUT_PATH = /^(oci-layout|index\.json|manifest\.json|blobs\/sha256\/[0-9a-f]{64})$/;

/** Whether `dir` holds an unpacked recipe output (its index.json: unpackExport renames the layout into place whole). */
export async function hasRecipeOutput(dir: string): Promise<boolean> {
  return access(join(dir, 'index.json')).then(() => true, () => false);
}

/** Unpacks the export `tar` into `dir` (replaced whole, through a sibling renamed into place). */
export async function unpackExport(tar: string, dir: string): Promise<void> {
  const work = `${dir}.partial`;
  await rm(work, { recursive: true, force: true });
  await mkdir(join(work, 'blobs', 'sha256'), { recursive: true });
  const reader = extract();
  reader.on('entry', (header, stream, next) => {
    const name = header.name.replace(/^\.\//, '');
    if (header.type === 'directory' && /^(blobs|blobs\/sha256)\/?$/.test(name)) {
      stream.resume();
      return next();
    }
    if (header.type !== 'file' || !LAYOUT_PATH.test(name)) {
      stream.resume();
      return next(new BuilderError('BAD_EXPORT', `${tar}: expected an OCI layout (oci-layout, index.json, blobs/sha256/<hex>), got ${header.type} ${JSON.stringify(header.name)}`));
    }
    // streamed: a layer of a real StageX image is hundreds of MB
    pipeline(stream, createWriteStream(join(work, name), { flags: 'wx' })).then(() => next(), next);
  });
  await pipeline(createReadStream(tar), reader);
  await rm(dir, { recursive: true, force: true });
  await rename(work, dir);
}

/**
 * The manifest digest (hex) for `platform` of the layout in `dir`: index.json, through the image
 * index BuildKit writes under BUILDKIT_MULTI_PLATFORM=1, to the one manifest of that platform
 * (attestation manifests, platform unknown/unknown, are not images). BAD_ARCHIVE otherwise.
 */
export async function manifestDigestOf(dir: string, platform: string): Promise<string> {
  let descriptor: Descriptor = { mediaType: 'application/vnd.oci.image.index.v1+json', digest: 'index.json' };
  for (let depth = 0; depth < 4; depth++) {
    const path = descriptor.digest === 'index.json' ? join(dir, 'index.json') : join(dir, 'blobs', 'sha256', hexOf(descriptor.digest, dir));
    const document = JSON.parse(await readFile(path, 'utf8')) as { manifests?: Descriptor[] };
    if (!INDEXES.has(descriptor.mediaType)) return hexOf(descriptor.digest, dir);
    const matching = (document.manifests ?? []).filter((d) => d.platform === undefined || platformOf(d.platform) === platform);
    if (matching.length !== 1) throw new BuilderError('BAD_EXPORT', `${path}: expected one manifest for ${platform}, got ${matching.length}`);
    descriptor = matching[0]!;
  }
  throw new BuilderError('BAD_EXPORT', `${dir}: indexes nested deeper than 4`);
}

/**
 * Loads the recipe output in `dir` into the engine, as StageX's `IMPORT=1` does, and names it
 * `stagex/<image>:latest` and `stagex/<image>:in-<input digest>`: users run what they built, and
 * `verify --image` finds it. The export names itself (index.json's `io.containerd.image.name`).
 */
export async function loadRecipeOutput(engine: Engine, dir: string, image: string, inputDigest: string): Promise<void> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests?: { annotations?: Record<string, string> }[] };
  const name = index.manifests?.[0]?.annotations?.['io.containerd.image.name'];
  if (name === undefined) throw new BuilderError('BAD_EXPORT', `${dir}/index.json: expected the image's name in the annotation io.containerd.image.name, got none`);
  await engine.loadImage(layoutTar(dir));
  const pinned = inputTag(image, inputDigest);
  await engine.tag(name, pinned.repo, pinned.tag);
  await engine.tag(name, pinned.repo, 'latest');
}

interface Descriptor {
  mediaType: string;
  digest: string;
  platform?: { os: string; architecture: string; variant?: string };
}

const INDEXES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

function platformOf(p: NonNullable<Descriptor['platform']>): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

function hexOf(digest: string, where: string): string {
  const hex = /^sha256:([0-9a-f]{64})$/.exec(digest)?.[1];
  if (hex === undefined) throw new BuilderError('BAD_EXPORT', `${where}: expected a sha256:<hex> digest, got ${JSON.stringify(digest)}`);
  return hex;
}
