/**
 * Synthesised image archives for builder tests, written with tar-stream (an independent tar writer):
 * layer tars, and the archive forms engines export (docker save before and since Docker 25, Podman's
 * oci-archive), so tests need no engine.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { type Header, pack } from 'tar-stream';

/** A tar entry: tar-stream's header plus content and pax records, or a GNU long name for the next entry. */
export interface Entry extends Partial<Header> {
  name: string;
  content?: string | Buffer;
  pax?: Record<string, string>;
  /** Write the name as a GNU `L` record before a truncated header, instead of pax or prefix. */
  gnuLongName?: boolean;
}

/** A tar of `entries` in order; mtime 0, mode 0644 (directories 0755) unless given. */
export async function tarOf(entries: readonly Entry[]): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of tar) chunks.push(chunk as Buffer);
  })();
  const add = (header: Partial<Header> & { name: string }, body: Buffer) =>
    new Promise<void>((resolve, reject) => tar.entry(header, body, (error) => (error ? reject(error) : resolve())));
  for (const { content, gnuLongName, ...header } of entries) {
    const body = typeof content === 'string' ? Buffer.from(content) : (content ?? Buffer.alloc(0));
    const defaults = { mtime: new Date(0), mode: header.type === 'directory' ? 0o755 : 0o644 };
    if (gnuLongName) {
      // tar-stream writes no GNU long names: a file named LONG_LINK is turned into one below.
      await add({ name: LONG_LINK, size: 0, mtime: new Date(0), mode: 0 }, Buffer.from(`${header.name}\0`));
      header.name = header.name.slice(0, 99);
    }
    await add({ ...defaults, ...header, size: body.length }, body);
  }
  tar.finalize();
  await collected;
  return markLongLinks(Buffer.concat(chunks));
}

const LONG_LINK = '././@LongLink';

/** Sets type flag L (GNU long name) on entries named LONG_LINK, fixing their checksums. */
function markLongLinks(tar: Buffer): Buffer {
  for (let at = 0; at + 512 <= tar.length && tar[at] !== 0;) {
    const size = Number.parseInt(tar.toString('latin1', at + 124, at + 136), 8);
    if (tar.toString('latin1', at, at + LONG_LINK.length + 1) === `${LONG_LINK}\0`) {
      tar.write('L', at + 156, 'latin1');
      tar.write('        ', at + 148, 'latin1');
      const sum = tar.subarray(at, at + 512).reduce((acc, byte) => acc + byte, 0);
      tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'latin1');
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return tar;
}

export interface Layer {
  tar: Buffer;
  compress?: 'gzip' | 'zstd';
}

export type ArchiveStyle =
  /** `docker save` before Docker 25: `<id>/layer.tar`, `<config>.json`, manifest.json last. */
  | 'docker-legacy'
  /** `docker save` / `GET /images/{name}/get` since Docker 25: an OCI layout plus manifest.json. */
  | 'docker-oci'
  /** Podman / BuildKit oci-archive: index.json only, a nested index with an attestation manifest. */
  | 'oci-archive';

/** The image archive of `layers` (lowest first) under `config`, whose rootfs.diff_ids it fills in; `repoTag` names it in manifest.json. */
export async function imageArchive(layers: readonly Layer[], config: Record<string, unknown>, style: ArchiveStyle, repoTag = 'test/image:latest'): Promise<Buffer> {
  const blobs = layers.map(({ tar, compress }) => (compress === 'gzip' ? gzipSync(tar) : compress === 'zstd' ? zstdCompressSync(tar) : tar));
  const configBytes = Buffer.from(JSON.stringify({ ...config, rootfs: { type: 'layers', diff_ids: layers.map(({ tar }) => `sha256:${sha256(tar)}`) } }));
  const configHex = sha256(configBytes);
  if (style === 'docker-legacy') {
    const ids = blobs.map((blob, i) => sha256(Buffer.concat([blob, Buffer.from(String(i))])));
    return tarOf([
      ...ids.flatMap((id, i) => [
        { name: `${id}/`, type: 'directory' as const },
        { name: `${id}/VERSION`, content: '1.0' },
        { name: `${id}/layer.tar`, content: blobs[i]! },
      ]),
      { name: `${configHex}.json`, content: configBytes },
      { name: 'repositories', content: '{}' },
      { name: 'manifest.json', content: JSON.stringify([{ Config: `${configHex}.json`, RepoTags: [repoTag], Layers: ids.map((id) => `${id}/layer.tar`) }]) },
    ]);
  }
  const layerDescriptors = blobs.map((blob, i) => ({
    mediaType: `application/vnd.oci.image.layer.v1.tar${layers[i]!.compress === undefined ? '' : `+${layers[i]!.compress}`}`,
    digest: `sha256:${sha256(blob)}`,
    size: blob.length,
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${configHex}`, size: configBytes.length },
    layers: layerDescriptors,
  }));
  const manifestDescriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha256(manifest)}`, size: manifest.length };
  const files: Entry[] = [
    { name: 'blobs/', type: 'directory' },
    { name: 'blobs/sha256/', type: 'directory' },
    ...blobs.map((blob) => ({ name: `blobs/sha256/${sha256(blob)}`, content: blob })),
    { name: `blobs/sha256/${configHex}`, content: configBytes },
    { name: `blobs/sha256/${sha256(manifest)}`, content: manifest },
    { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
  ];
  if (style === 'docker-oci') {
    files.push(
      // as `docker save` writes it since Docker 25: the full name is what the containerd image store looks up
      { name: 'index.json', content: JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ ...manifestDescriptor, annotations: { 'io.containerd.image.name': `docker.io/${repoTag}`, 'org.opencontainers.image.ref.name': repoTag.slice(repoTag.lastIndexOf(':') + 1) } }] }) },
      { name: 'manifest.json', content: JSON.stringify([{ Config: `blobs/sha256/${configHex}`, RepoTags: [repoTag], Layers: blobs.map((blob) => `blobs/sha256/${sha256(blob)}`) }]) },
    );
    return tarOf(files);
  }
  const attestation = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: manifestDescriptor, layers: [] }));
  const nested = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { ...manifestDescriptor, platform: { architecture: 'amd64', os: 'linux' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha256(attestation)}`, size: attestation.length, platform: { architecture: 'unknown', os: 'unknown' } },
    ],
  }));
  files.push(
    { name: `blobs/sha256/${sha256(attestation)}`, content: attestation },
    { name: `blobs/sha256/${sha256(nested)}`, content: nested },
    { name: 'index.json', content: JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: `sha256:${sha256(nested)}`, size: nested.length }] }) },
  );
  return tarOf(files);
}

/** A readable stream of `bytes` in small chunks, as an HTTP body arrives. */
export function streamOf(bytes: Buffer, chunk = 16 * 1024): Readable {
  return Readable.from((function* () {
    for (let at = 0; at < bytes.length; at += chunk) yield bytes.subarray(at, at + chunk);
  })());
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
