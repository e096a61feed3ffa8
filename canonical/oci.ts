/**
 * The JSON documents of the canonical image (DESIGN section 3): its config, manifest, index and the
 * docker `manifest.json` that lets `docker load` take the layout. Pure, no I/O. Every document is
 * canonical JSON (sorted keys, no spaces), so equal inputs give equal bytes and digests on every
 * machine.
 */
import { canonicalJson, sha256Hex } from '../protocol/encoding.ts';
import { CanonicalError } from './errors.ts';

export const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
} as const;

/** OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** A document's bytes with the descriptor that names them. */
export interface Blob {
  bytes: Uint8Array;
  descriptor: Descriptor;
}

export function blob(mediaType: string, bytes: Uint8Array): Blob {
  return { bytes, descriptor: { mediaType, digest: `sha256:${sha256Hex(bytes)}`, size: bytes.byteLength } };
}

/** Top-level config fields that describe the image; `created`, `history` and engine fields are not among them. */
const IMAGE_FIELDS = ['architecture', 'os', 'os.version', 'os.features', 'variant', 'author'] as const;
/** Fields of `config` that change how a container runs (OCI image spec plus Docker's Healthcheck, OnBuild, Shell). */
const RUN_FIELDS = ['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'Healthcheck', 'OnBuild', 'Shell'] as const;
/** Label namespaces engines fill in themselves (Buildah and Podman write `io.buildah.version`). */
const ENGINE_LABEL_PREFIXES = ['io.buildah.', 'io.podman.', 'com.docker.', 'moby.buildkit.'];

/**
 * The canonical config: the engine's config reduced to the fields that describe the image, empty
 * values (null, "", [], {}) dropped so engines that omit a field and engines that write it empty
 * agree, engine labels dropped, `created` 1970-01-01T00:00:00Z, no history, and `rootfs` the one
 * canonical layer. `ArgsEscaped` is dropped: it only means something on Windows.
 */
export function canonicalConfig(source: unknown, diffId: string): Blob {
  if (!isObject(source)) throw new CanonicalError('BAD_IMAGE_CONFIG', `image config: expected a JSON object, got ${typeName(source)}`);
  for (const field of ['architecture', 'os'] as const) {
    if (typeof source[field] !== 'string' || source[field] === '') {
      throw new CanonicalError('BAD_IMAGE_CONFIG', `image config: ${field} expected a non-empty string, got ${typeName(source[field])}`);
    }
  }
  if (source.config !== undefined && source.config !== null && !isObject(source.config)) {
    throw new CanonicalError('BAD_IMAGE_CONFIG', `image config: config expected an object, got ${typeName(source.config)}`);
  }
  const run = pick(isObject(source.config) ? source.config : {}, RUN_FIELDS);
  if (isObject(run.Labels)) {
    run.Labels = Object.fromEntries(Object.entries(run.Labels).filter(([key]) => !ENGINE_LABEL_PREFIXES.some((prefix) => key.startsWith(prefix))));
    if (isEmpty(run.Labels)) delete run.Labels;
  }
  const config = {
    ...pick(source, IMAGE_FIELDS),
    ...(isEmpty(run) ? {} : { config: run }),
    created: '1970-01-01T00:00:00Z',
    rootfs: { type: 'layers', diff_ids: [diffId] },
  };
  return blob(MEDIA_TYPES.config, encode(config));
}

/** The image manifest; its digest is the output digest. */
export function imageManifest(config: Descriptor, layer: Descriptor): Blob {
  return blob(MEDIA_TYPES.manifest, encode({ schemaVersion: 2, mediaType: MEDIA_TYPES.manifest, config, layers: [layer] }));
}

/**
 * The layout's `index.json`. With a reference ("name:tag"), it is annotated as Docker 25+ saves:
 * the full name for containerd, the tag for `skopeo inspect oci:DIR:tag`.
 */
export function imageIndex(manifest: Descriptor, reference?: string): Uint8Array {
  const annotations = reference === undefined ? undefined : { 'io.containerd.image.name': fullName(reference), 'org.opencontainers.image.ref.name': tagOf(reference) };
  return encode({ schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: [{ ...manifest, annotations }] });
}

export function ociLayout(): Uint8Array {
  return encode({ imageLayoutVersion: '1.0.0' });
}

/** Docker's `manifest.json` (what `docker load` reads), pointing into the OCI layout's blobs. */
export function dockerManifest(config: Descriptor, layer: Descriptor, reference?: string): Uint8Array {
  return encode([{ Config: blobPath(config.digest), RepoTags: reference === undefined ? null : [reference], Layers: [blobPath(layer.digest)] }]);
}

/** Where a blob lives in an OCI layout: `blobs/<algorithm>/<hex>`. */
export function blobPath(digest: string): string {
  const match = /^(sha256):([0-9a-f]{64})$/.exec(digest);
  if (match === null) throw new CanonicalError('BAD_ENCODING', `digest: expected "sha256:" and 64 lowercase hex characters, got ${JSON.stringify(digest.slice(0, 80))}`);
  return `blobs/${match[1]}/${match[2]}`;
}

/** The tag of a reference: what follows the last ":" after the last "/", else "latest". */
/**
 * A reference as containerd names images (`stagex/x:latest` -> `docker.io/stagex/x:latest`, `x` ->
 * `docker.io/library/x:latest`): dockerd's containerd image store looks a loaded image up by that
 * form, so a shorter one is loaded under a name nothing finds. Not part of any digest.
 */
function fullName(reference: string): string {
  const tagged = tagOf(reference) === 'latest' && !reference.slice(reference.lastIndexOf('/') + 1).includes(':') ? `${reference}:latest` : reference;
  const first = tagged.split('/')[0]!;
  if (tagged.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) return tagged;
  return tagged.includes('/') ? `docker.io/${tagged}` : `docker.io/library/${tagged}`;
}

function tagOf(reference: string): string {
  const colon = reference.lastIndexOf(':');
  return colon > reference.lastIndexOf('/') ? reference.slice(colon + 1) : 'latest';
}

function encode(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}

function pick(source: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(fields.filter((field) => !isEmpty(source[field])).map((field) => [field, source[field]]));
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return isObject(value) && Object.keys(value).length === 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}
