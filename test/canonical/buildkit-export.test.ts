/**
 * BuildKit's OCI export as canonicalize reads it (DESIGN section 3): what `docker buildx build
 * --output type=oci,tar=true,dest=<file>` writes with BUILDKIT_MULTI_PLATFORM=1, read in place from
 * the file. index.json names an image index, which lists one manifest per platform (gzip layers)
 * and an attestation manifest with platform unknown/unknown. The canonical image of that export is
 * the one of the same file system and config from any other engine: nothing engine-specific is left.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { canonicalize } from '../../canonical/index.ts';
import { type Entry, imageArchive, sha256, streamOf, tarOf } from '../helpers/image-archive.ts';
import { tempDir } from '../helpers/tmp.ts';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';
const CONFIG = { architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/hello'], WorkingDir: '/' } };

const base: Entry[] = [
  { name: 'etc/', type: 'directory' },
  { name: 'etc/os-release', content: 'ID=stagex\n' },
  { name: 'etc/old', content: 'old\n' },
];
const top: Entry[] = [
  { name: 'bin/', type: 'directory' },
  { name: 'bin/hello', content: 'hello\n', mode: 0o755 },
  { name: 'etc/', type: 'directory' },
  { name: 'etc/.wh.old' },
];

/** A blob of the export, and the descriptor that names it. */
function blob(mediaType: string, bytes: Buffer, extra: Record<string, unknown> = {}) {
  return { bytes, descriptor: { mediaType, digest: `sha256:${sha256(bytes)}`, size: bytes.length, ...extra } };
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** The export as BuildKit 0.13 writes it: blobs first, then oci-layout and index.json; `platforms` image manifests. */
async function buildkitExport(platforms: string[] = ['amd64']): Promise<Buffer> {
  const layers = [await tarOf(base), await tarOf(top)];
  const gzipped = layers.map((tar) => blob('application/vnd.oci.image.layer.v1.tar+gzip', gzipSync(tar)));
  const config = blob('application/vnd.oci.image.config.v1+json', json({
    ...CONFIG,
    created: '2026-03-01T10:00:00Z',
    config: { ...CONFIG.config, Labels: { 'moby.buildkit.frontend': 'dockerfile.v0' } },
    'moby.buildkit.buildinfo.v1': 'eyJmcm9udGVuZCI6ImRvY2tlcmZpbGUudjAifQ==',
    history: [{ created: '2026-03-01T10:00:00Z', created_by: 'COPY rootfs/ / # buildkit', comment: 'buildkit.dockerfile.v0' }],
    rootfs: { type: 'layers', diff_ids: layers.map((tar) => `sha256:${sha256(tar)}`) },
  }));
  const images = platforms.map((architecture) => blob(MANIFEST, json({
    schemaVersion: 2, mediaType: MANIFEST, config: config.descriptor, layers: gzipped.map((layer) => layer.descriptor),
  }), { platform: { architecture, os: 'linux' } }));
  const statement = blob('application/vnd.in-toto+json', json({ _type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://slsa.dev/provenance/v0.2' }), { annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' } });
  const attestationConfig = blob('application/vnd.oci.image.config.v1+json', json({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(statement.bytes)}`] } }));
  const attestation = blob(MANIFEST, json({ schemaVersion: 2, mediaType: MANIFEST, config: attestationConfig.descriptor, layers: [statement.descriptor] }), {
    annotations: { 'vnd.docker.reference.digest': images[0]!.descriptor.digest, 'vnd.docker.reference.type': 'attestation-manifest' },
    platform: { architecture: 'unknown', os: 'unknown' },
  });
  const index = blob(INDEX, json({ schemaVersion: 2, mediaType: INDEX, manifests: [...images, attestation].map((m) => m.descriptor) }), {
    annotations: { 'io.containerd.image.name': 'docker.io/stagex/core-hello:latest', 'org.opencontainers.image.created': '2026-03-01T10:00:05Z', 'org.opencontainers.image.ref.name': 'latest' },
  });
  const blobs = [...gzipped, config, ...images, statement, attestationConfig, attestation, index];
  return tarOf([
    { name: 'blobs/', type: 'directory' },
    { name: 'blobs/sha256/', type: 'directory' },
    ...blobs.map(({ bytes, descriptor }) => ({ name: `blobs/sha256/${descriptor.digest.slice(7)}`, content: bytes })),
    { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
    { name: 'index.json', content: json({ schemaVersion: 2, mediaType: INDEX, manifests: [index.descriptor] }) },
  ]);
}

/** Writes `archive` to a file and canonicalizes it from there. */
async function fromFile(archive: Buffer) {
  const file = join(tempDir('stagex-buildkit'), 'export.tar');
  writeFileSync(file, archive);
  const dir = join(tempDir('stagex-buildkit'), 'out');
  return { file, dir, image: await canonicalize(file, dir) };
}

describe('canonicalize a BuildKit OCI export', () => {
  it('read in place from its file, gives the canonical image of the same files and config from another engine', async () => {
    const archive = await buildkitExport();
    const { file, image } = await fromFile(archive);
    const docker = await canonicalize(streamOf(await imageArchive([{ tar: await tarOf(base) }, { tar: await tarOf(top) }], CONFIG, 'docker-legacy')), join(tempDir('stagex-buildkit'), 'out'));
    assert.deepEqual(image, docker);
    assert.deepEqual(readFileSync(file), archive, 'the export is left as it was');
  });

  it('returns the canonical digests and sizes only, and writes one manifest with no attestation, no history and no engine fields', async () => {
    const { dir, image } = await fromFile(await buildkitExport());
    assert.deepEqual(Object.keys(image).sort(), ['configDigest', 'diffId', 'digest', 'layerDigest', 'layerSize', 'size']);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    assert.deepEqual(index.manifests.map((m: { digest: string }) => m.digest), [image.digest]);
    const config = JSON.parse(readFileSync(join(dir, 'blobs/sha256', image.configDigest.slice(7)), 'utf8'));
    assert.deepEqual(config, { ...CONFIG, created: '1970-01-01T00:00:00Z', rootfs: { type: 'layers', diff_ids: [image.diffId] } });
  });

  it('BAD_ARCHIVE for an export of two platforms, which is not one image', async () => {
    await assert.rejects(fromFile(await buildkitExport(['amd64', 'arm64'])), { code: 'BAD_ARCHIVE' });
  });
});
