import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { blobPath, canonicalConfig, dockerManifest, imageIndex, imageManifest } from '../../canonical/oci.ts';

const diffId = `sha256:${'a'.repeat(64)}`;
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

/** Shaped like Docker 26 BuildKit and Podman 5 configs of one image. */
const docker = {
  architecture: 'amd64',
  os: 'linux',
  created: '2025-10-01T12:00:00.123Z',
  config: { Env: ['PATH=/usr/bin'], Cmd: ['/bin/sh'], WorkingDir: '/', ArgsEscaped: true, OnBuild: null, Labels: null },
  history: [{ created: '2025-10-01T12:00:00Z', created_by: 'COPY . /' }],
  'moby.buildkit.buildinfo.v1': 'e30=',
  rootfs: { type: 'layers', diff_ids: [`sha256:${'b'.repeat(64)}`] },
};
const podman = {
  created: '2025-10-02T08:00:00Z',
  architecture: 'amd64',
  os: 'linux',
  config: { Cmd: ['/bin/sh'], Env: ['PATH=/usr/bin'], WorkingDir: '/', Labels: { 'io.buildah.version': '1.39.3' } },
  history: [{ created: '2025-10-02T08:00:00Z', created_by: '/bin/sh -c #(nop) COPY dir:abc in / ', empty_layer: false }],
  rootfs: { type: 'layers', diff_ids: [`sha256:${'c'.repeat(64)}`, `sha256:${'d'.repeat(64)}`] },
};

describe('canonicalConfig', () => {
  it('gives one config for Docker and Podman shapes of the same image', () => {
    assert.equal(text(canonicalConfig(docker, diffId).bytes), text(canonicalConfig(podman, diffId).bytes));
  });

  it('has sorted keys, created 1970-01-01T00:00:00Z, no history, the one canonical layer', () => {
    assert.equal(
      text(canonicalConfig(docker, diffId).bytes),
      `{"architecture":"amd64","config":{"Cmd":["/bin/sh"],"Env":["PATH=/usr/bin"],"WorkingDir":"/"},"created":"1970-01-01T00:00:00Z","os":"linux","rootfs":{"diff_ids":["${diffId}"],"type":"layers"}}`,
    );
  });

  it('keeps what changes how a container runs, and user labels', () => {
    const config = JSON.parse(text(canonicalConfig({ ...docker, config: { ...docker.config, User: '1000', Labels: { 'org.example': 'x', 'com.docker.desktop': 'y' } } }, diffId).bytes));
    assert.equal(config.config.User, '1000');
    assert.deepEqual(config.config.Labels, { 'org.example': 'x' });
  });

  it('descriptor digest is the sha256 of the bytes', () => {
    const { bytes, descriptor } = canonicalConfig(docker, diffId);
    assert.equal(descriptor.digest, `sha256:${createHash('sha256').update(bytes).digest('hex')}`);
    assert.equal(descriptor.size, bytes.length);
  });

  it('rejects a config without architecture or os, or with a non-object config, with BAD_IMAGE_CONFIG', () => {
    assert.throws(() => canonicalConfig({ os: 'linux' }, diffId), { code: 'BAD_IMAGE_CONFIG' });
    assert.throws(() => canonicalConfig({ ...docker, os: '' }, diffId), { code: 'BAD_IMAGE_CONFIG' });
    assert.throws(() => canonicalConfig({ ...docker, config: [] }, diffId), { code: 'BAD_IMAGE_CONFIG' });
    assert.throws(() => canonicalConfig('{}', diffId), { code: 'BAD_IMAGE_CONFIG' });
  });
});

describe('layout documents', () => {
  const config = canonicalConfig(docker, diffId).descriptor;
  const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: diffId, size: 1024 };

  it('manifest: OCI image manifest with the config and the one uncompressed layer', () => {
    assert.deepEqual(JSON.parse(text(imageManifest(config, layer).bytes)), { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer] });
  });

  it('index and docker manifest.json name the reference only when given', () => {
    const manifest = imageManifest(config, layer).descriptor;
    assert.equal(JSON.parse(text(imageIndex(manifest))).manifests[0].annotations, undefined);
    assert.deepEqual(JSON.parse(text(imageIndex(manifest, 'stagex/core-busybox:canonical'))).manifests[0].annotations, {
      'io.containerd.image.name': 'docker.io/stagex/core-busybox:canonical',
      'org.opencontainers.image.ref.name': 'canonical',
    });
    // the containerd image store finds a loaded image only by its full name
    const named = (reference: string) => JSON.parse(text(imageIndex(manifest, reference))).manifests[0].annotations['io.containerd.image.name'];
    assert.deepEqual(['busybox', 'stagex/x', 'localhost:5000/x:1', 'quay.io/stagex/x:2'].map(named), ['docker.io/library/busybox:latest', 'docker.io/stagex/x:latest', 'localhost:5000/x:1', 'quay.io/stagex/x:2']);
    assert.deepEqual(JSON.parse(text(dockerManifest(config, layer, 'localhost:5000/x'))), [{ Config: blobPath(config.digest), Layers: [`blobs/sha256/${'a'.repeat(64)}`], RepoTags: ['localhost:5000/x'] }]);
  });

  it('blobPath rejects what is not a sha256 digest', () => {
    assert.throws(() => blobPath('sha256:../../etc/passwd'), { code: 'BAD_ENCODING' });
  });
});
