/**
 * StageX's own image signatures (DESIGN section 4): the containers/image "lookaside" layout
 * `signatures/stagex/<image>@sha256=<manifest hex>/signature-<n>` that StageX's `src/sign.sh`
 * writes, and the "simple signing" payload each OpenPGP signed message carries, in both
 * variants: the current one (sign.sh's printf) and the legacy one StageX wrote before 2025-06
 * (a JSON array, type "pgp container image signature", digest without `sha256:`). Pure: the
 * OpenPGP layer and the files are the caller's.
 */
import { z } from 'zod';
import { describeIssues, describeValue, ProtocolError } from './errors.ts';
import { imageNameSchema, sha256HexSchema } from './statement.ts';

/** The registry name StageX signs under: the docker-reference is `stagex/<image>[:<tag>]`. */
export const STAGEX_REGISTRY = 'stagex';
/** A signature file larger than this is not read (real ones are under 1 KiB). */
export const MAX_SIGNATURE_BYTES = 64 * 1024;

/** Where one signature lives in the lookaside layout, relative to `signatures/stagex/`. */
export interface SignatureLocation {
  image: string;
  /** Manifest digest, hex. */
  digest: string;
  /** n of `signature-<n>`, from 1. */
  n: number;
}

/** What a payload claims. */
export interface SignaturePayload {
  image: string;
  digest: string;
  tag?: string;
  /** The pre-2025-06 variant. */
  legacy: boolean;
}

/** A valid StageX signature by a configured signer, as the store keeps it. */
export interface OpenpgpVote {
  image: string;
  /** The manifest digest the signature vouches for, hex. */
  digest: string;
  /** The signer's primary key fingerprint, lowercase hex (a subkey signs for its primary). */
  fingerprint: string;
  /** sha256 of the signature file's bytes. */
  file: string;
  /** The signature's creation time, ISO 8601. */
  created: string;
}

const DIRECTORY = /^([^@/]+)@sha256=([^/]*)$/;
const FILE = /^signature-([1-9][0-9]{0,5})$/;
const REFERENCE = /^stagex\/([^:@/]+)(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?$/;

/** The directory name `<image>@sha256=<hex>`, or a BAD_SIGNATURE_PATH error naming it. */
export function parseSignatureDirectory(name: string): { image: string; digest: string } {
  const match = DIRECTORY.exec(name);
  const image = imageNameSchema.safeParse(match?.[1]);
  const digest = sha256HexSchema.safeParse(match?.[2]);
  if (!match || !image.success || !digest.success) {
    throw new ProtocolError('BAD_SIGNATURE_PATH', `signature directory ${describeValue(name)}: expected <stage>-<name>@sha256=<64 lowercase hex>`);
  }
  return { image: image.data, digest: digest.data };
}

/** n of a file name `signature-<n>`, or a BAD_SIGNATURE_PATH error naming it. */
export function parseSignatureFileName(name: string, where: string): number {
  const match = FILE.exec(name);
  if (!match) throw new ProtocolError('BAD_SIGNATURE_PATH', `${where}: expected a file named signature-<n> (n from 1, no leading zero), got ${describeValue(name)}`);
  return Number(match[1]);
}

/** `<image>@sha256=<hex>/signature-<n>` (relative to `signatures/stagex/`) as its parts. */
export function parseSignaturePath(path: string): SignatureLocation {
  const slash = path.indexOf('/');
  if (slash < 0) throw new ProtocolError('BAD_SIGNATURE_PATH', `signature path ${describeValue(path)}: expected <image>@sha256=<hex>/signature-<n>`);
  return { ...parseSignatureDirectory(path.slice(0, slash)), n: parseSignatureFileName(path.slice(slash + 1), `signature path ${describeValue(path)}`) };
}

/** The directory of an image digest's signatures, relative to the checkout root. */
export function signatureDirectory(image: string, digest: string): string {
  return `signatures/${STAGEX_REGISTRY}/${image}@sha256=${digest}`;
}

/** The payload exactly as sign.sh prints it (`printf '{"critical":...}'`, no newline). */
export function buildPayload(image: string, digest: string): Uint8Array {
  const name = imageNameSchema.parse(image);
  const hex = sha256HexSchema.parse(digest);
  return new TextEncoder().encode(`{"critical":{"identity":{"docker-reference":"${STAGEX_REGISTRY}/${name}"},"image":{"docker-manifest-digest":"sha256:${hex}"},"type":"atomic container signature"},"optional":{}}`);
}

/** The critical part is closed (containers/image refuses unknown critical fields); optional is open. */
const criticalOf = <T extends string, D extends z.ZodType>(type: T, digest: D) => z.strictObject({
  identity: z.strictObject({ 'docker-reference': z.string().max(512) }),
  image: z.strictObject({ 'docker-manifest-digest': digest }),
  type: z.literal(type),
});

const currentSchema = z.strictObject({
  critical: criticalOf('atomic container signature', z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 lowercase hex>')),
  optional: z.record(z.string(), z.unknown()).nullable().optional(),
});

const legacySchema = z.tuple([z.strictObject({
  critical: criticalOf('pgp container image signature', sha256HexSchema),
  optional: z.record(z.string(), z.unknown()).nullable().optional(),
})]);

/**
 * Reads a payload (the literal data of a signed message), either variant. Throws
 * BAD_SIGNATURE_PAYLOAD naming `where` for anything else: bytes that are not UTF-8 JSON, another
 * type, a reference outside `stagex/`, a digest that is not sha256.
 */
export function parsePayload(bytes: Uint8Array, where: string): SignaturePayload {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new ProtocolError('BAD_SIGNATURE_PAYLOAD', `${where}: payload: expected UTF-8 JSON, got ${bytes.length} bytes that are not (${(error as Error).message})`);
  }
  const legacy = Array.isArray(json);
  const parsed = legacy ? legacySchema.safeParse(json) : currentSchema.safeParse(json);
  if (!parsed.success) {
    throw new ProtocolError('BAD_SIGNATURE_PAYLOAD', `${where}: payload: expected a ${legacy ? 'legacy (pre-2025-06)' : 'simple signing'} payload:\n${describeIssues(parsed.error.issues, json).join('\n')}`);
  }
  const { critical } = legacy ? (parsed.data as z.output<typeof legacySchema>)[0] : (parsed.data as z.output<typeof currentSchema>);
  const reference = critical.identity['docker-reference'];
  const match = REFERENCE.exec(reference);
  const image = imageNameSchema.safeParse(match?.[1]);
  if (!match || !image.success) {
    throw new ProtocolError('BAD_SIGNATURE_PAYLOAD', `${where}: payload: critical.identity.docker-reference: expected ${STAGEX_REGISTRY}/<stage>-<name>[:<tag>], got ${describeValue(reference)}`);
  }
  const digest = critical.image['docker-manifest-digest'].replace(/^sha256:/, '');
  return { image: image.data, digest, ...(match[2] === undefined ? {} : { tag: match[2] }), legacy };
}
