/**
 * The local API's requests (DESIGN section 8) read from what arrived, without the server: the
 * method, the request target (URL) and the body bytes, validated with zod. Bad input is an
 * HttpError with a status and a code whose message says what was expected, and changes nothing;
 * daemon/api.ts reads the body (up to `bodyLimit`) and answers.
 */
import { z } from 'zod';
import { StagexError } from '../protocol/errors.ts';
import { MAX_ENVELOPE_BYTES } from '../protocol/dsse.ts';
import { imageNameSchema, platformSchema, sha256HexSchema } from '../protocol/statement.ts';
import { MAX_SIGNATURE_BYTES } from '../protocol/stagex-signature.ts';

const querySchema = z.strictObject({
  image: imageNameSchema.optional(),
  digest: z.string().transform((d) => d.replace(/^sha256:/, '')).pipe(sha256HexSchema).optional(),
  key: z.string().min(1).max(128).optional(),
}).refine((q) => [q.image, q.digest, q.key].filter((v) => v !== undefined).length <= 1, 'give at most one of image, digest, key');
export type QueryParams = z.output<typeof querySchema>;

const verifySchema = z.strictObject({
  entries: z.array(z.strictObject({ image: imageNameSchema, digest: sha256HexSchema, where: z.string().max(512).default('api') })).min(1).max(100_000),
});
export type VerifyEntries = z.output<typeof verifySchema>['entries'];

/** Builds per POST /verdicts: 50,000 of ~150 bytes fit the body limit. */
export const VERDICTS_PER_REQUEST = 50_000;

const verdictsSchema = z.strictObject({
  identities: z.array(z.strictObject({ image: imageNameSchema, platform: platformSchema, inputDigest: sha256HexSchema })).min(1).max(VERDICTS_PER_REQUEST),
});
export type VerdictIdentities = z.output<typeof verdictsSchema>['identities'];

/** Files per POST /signatures: 64 files of at most 64 KiB fit the body limit in base64. */
export const SIGNATURES_PER_REQUEST = 64;

const signaturesSchema = z.strictObject({
  files: z.array(z.strictObject({
    path: z.string().min(1).max(512),
    signature: z.base64().max(Math.ceil(MAX_SIGNATURE_BYTES / 3) * 4).transform((b) => new Uint8Array(Buffer.from(b, 'base64'))),
  })).min(1).max(SIGNATURES_PER_REQUEST),
});

/** The largest JSON body a route reads. */
export const MAX_BODY = 8 * 1024 * 1024;

export type ApiRequest =
  | { route: 'health' | 'status' | 'peers' | 'envelopes' | 'metrics' | 'reload' | 'storeCheck' }
  | { route: 'query'; params: QueryParams }
  | { route: 'verify'; entries: VerifyEntries }
  /** The verdicts of these builds only: one point read each (what `plan` shows). */
  | { route: 'verdicts'; identities: VerdictIdentities }
  | { route: 'signatures'; files: { path: string; bytes: Uint8Array }[] }
  /** One DSSE envelope's bytes, validated by the pipeline (protocol/attestation.ts). */
  | { route: 'submit'; bytes: Uint8Array };

/** The request's own faults, and (422) a config file a reload refused. */
export type HttpErrorCode = 'BAD_REQUEST' | 'NOT_FOUND' | 'TOO_LARGE' | 'BAD_CONFIG' | 'CONFIG_NOT_FOUND';

export class HttpError extends StagexError<HttpErrorCode> {
  readonly status: number;
  constructor(status: number, code: HttpErrorCode, message: string) {
    super(code, message);
    this.name = 'HttpError';
    this.status = status;
  }
}

/** `METHOD /path` for messages; never throws, whatever the request target holds. */
export function requestName(method: string | undefined, url: string | undefined): string {
  const path = URL.parse(url ?? '/', 'http://localhost')?.pathname ?? JSON.stringify((url ?? '').slice(0, 80));
  return `${method} ${path}`;
}

/** The request target as a URL; one that does not parse (`//[`) is BAD_REQUEST. */
function urlOf(method: string, url: string): URL {
  const parsed = URL.parse(url, 'http://localhost');
  if (!parsed) throw new HttpError(400, 'BAD_REQUEST', `${method} ${JSON.stringify(url.slice(0, 80))}: expected a path such as /query?image=<image>, got a request target that is not a URL`);
  return parsed;
}

/** The body bytes a route reads at most; undefined when it reads none. Throws BAD_REQUEST for a target that is not a URL. */
export function bodyLimit(method: string, url: string): number | undefined {
  const key = `${method} ${urlOf(method, url).pathname}`;
  return key === 'POST /envelopes' ? MAX_ENVELOPE_BYTES : key === 'POST /verify' || key === 'POST /verdicts' || key === 'POST /signatures' ? MAX_BODY : undefined;
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new HttpError(400, 'BAD_REQUEST', `${what}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
}

function json(body: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(body).toString('utf8'));
  } catch (error) {
    throw new HttpError(400, 'BAD_REQUEST', `${what}: body is not JSON (${(error as Error).message})`);
  }
}

/**
 * One request, validated: its route and parameters. HttpError BAD_REQUEST or NOT_FOUND
 * otherwise, its message starting with requestName (`GET /query: image: ...`).
 */
export function readApiRequest(method: string, url: string, body: Uint8Array): ApiRequest {
  const target = urlOf(method, url);
  const key = `${method} ${target.pathname}`;
  switch (key) {
    case 'GET /health': return { route: 'health' };
    case 'GET /status': return { route: 'status' };
    case 'GET /peers': return { route: 'peers' };
    case 'GET /query': return { route: 'query', params: parse(querySchema, Object.fromEntries(target.searchParams), key) };
    case 'POST /verify': return { route: 'verify', entries: parse(verifySchema, json(body, key), key).entries };
    case 'POST /verdicts': return { route: 'verdicts', identities: parse(verdictsSchema, json(body, key), key).identities };
    case 'POST /signatures': {
      const { files } = parse(signaturesSchema, json(body, key), key);
      return { route: 'signatures', files: files.map((f) => ({ path: f.path, bytes: f.signature })) };
    }
    case 'POST /envelopes': return { route: 'submit', bytes: body };
    case 'GET /envelopes': return { route: 'envelopes' };
    case 'GET /metrics': return { route: 'metrics' };
    case 'POST /reload': return { route: 'reload' };
    case 'GET /store/check': return { route: 'storeCheck' };
    default: throw new HttpError(404, 'NOT_FOUND', `no route ${key}; see daemon/api.ts`);
  }
}
