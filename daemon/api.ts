/**
 * The local HTTP API (DESIGN section 8), on a loopback address or a unix socket only. Every
 * parameter and body is validated with zod; bad input is a 400 with a code and a message
 * that says what was expected, and changes nothing. Anything else that fails (the store, the
 * node) is a 500 with its own code: the caller did nothing wrong, retrying may help.
 *
 *   GET  /health                    envelope and peer counts (cheap: no verdicts)
 *   GET  /status                    node, peers, store and verdict counts
 *   GET  /peers                     connected peers
 *   GET  /query?image=|digest=|key= verdicts and votes
 *   POST /verify                    {"entries":[{"image","digest","where"?}]} -> manifest verdict
 *   GET  /envelopes                 every stored envelope: JSON lines {"hash","envelope" (base64)}
 *   POST /envelopes                 one DSSE envelope (bytes) -> validated, stored, gossiped
 *   POST /signatures                {"files":[{"path","signature" (base64)}]} StageX OpenPGP signatures,
 *                                   path `<image>@sha256=<hex>/signature-<n>` -> per-file outcomes
 *   GET  /metrics                   Prometheus text
 *
 * Every route, /metrics included, answers only a request authenticated with the token the
 * daemon wrote at start (api-auth.ts, api-token.ts); anything else gets 401 and no data. A
 * scraper sends `Authorization: Bearer <contents of api.token>`. On a unix socket the 0700
 * directory already keeps other users out; the token is still required there, so a daemon of
 * another config on the same path is refused just as on TCP.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { lstat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { once } from 'node:events';
import { z } from 'zod';
import { ProtocolError, StagexError } from '../protocol/errors.ts';
import { MAX_ENVELOPE_BYTES } from '../protocol/dsse.ts';
import { imageNameSchema, sha256HexSchema } from '../protocol/statement.ts';
import { MAX_SIGNATURE_BYTES } from '../protocol/stagex-signature.ts';
import type { Registry } from 'prom-client';
import { DaemonError } from './errors.ts';
import { StoreError } from '../store/errors.ts';
import { kindOf } from './regular-file.ts';
import { checkRequest, NONCE_HEADER, PROOF_HEADER } from './api-auth.ts';
import { requirePrivateDir } from './private-dir.ts';
import { dirname } from 'node:path';

const querySchema = z.strictObject({
  image: imageNameSchema.optional(),
  digest: z.string().transform((d) => d.replace(/^sha256:/, '')).pipe(sha256HexSchema).optional(),
  key: z.string().min(1).max(128).optional(),
}).refine((q) => [q.image, q.digest, q.key].filter((v) => v !== undefined).length <= 1, 'give at most one of image, digest, key');

const verifySchema = z.strictObject({
  entries: z.array(z.strictObject({ image: imageNameSchema, digest: sha256HexSchema, where: z.string().max(512).default('api') })).min(1).max(100_000),
});

/** Files per POST /signatures: 64 files of at most 64 KiB fit the body limit in base64. */
export const SIGNATURES_PER_REQUEST = 64;

const signaturesSchema = z.strictObject({
  files: z.array(z.strictObject({
    path: z.string().min(1).max(512),
    signature: z.base64().max(Math.ceil(MAX_SIGNATURE_BYTES / 3) * 4).transform((b) => new Uint8Array(Buffer.from(b, 'base64'))),
  })).min(1).max(SIGNATURES_PER_REQUEST),
});

const MAX_BODY = 8 * 1024 * 1024;

export interface ApiHandlers {
  health(): unknown;
  status(): Promise<unknown>;
  peers(): unknown;
  query(params: z.output<typeof querySchema>): Promise<unknown>;
  verify(entries: z.output<typeof verifySchema>['entries']): Promise<unknown>;
  submit(bytes: Uint8Array): Promise<unknown>;
  /** StageX OpenPGP signature files, verified and stored as votes. */
  signatures(files: { path: string; bytes: Uint8Array }[]): Promise<unknown>;
  /** Every stored envelope, in hash order. */
  envelopes(): AsyncIterable<{ hash: string; bytes: Uint8Array }>;
  metrics: Registry;
}

class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new HttpError(400, 'BAD_REQUEST', `${what}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
}

async function body(request: IncomingMessage, limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'TOO_LARGE', `request body: expected at most ${limit} bytes`);
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

async function jsonBody(request: IncomingMessage, what: string): Promise<unknown> {
  const bytes = await body(request, MAX_BODY);
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new HttpError(400, 'BAD_REQUEST', `${what}: body is not JSON (${(error as Error).message})`);
  }
}

async function route(handlers: ApiHandlers, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const send = (status: number, value: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
  };
  switch (key(request)) {
    case 'GET /health': return send(200, handlers.health());
    case 'GET /status': return send(200, await handlers.status());
    case 'GET /peers': return send(200, handlers.peers());
    case 'GET /query': return send(200, await handlers.query(parse(querySchema, Object.fromEntries(url.searchParams), 'query')));
    case 'POST /verify': return send(200, await handlers.verify(parse(verifySchema, await jsonBody(request, 'verify'), 'verify').entries));
    case 'POST /signatures': {
      const { files } = parse(signaturesSchema, await jsonBody(request, 'signatures'), 'signatures');
      return send(200, await handlers.signatures(files.map((f) => ({ path: f.path, bytes: f.signature }))));
    }
    case 'POST /envelopes': return send(200, await handlers.submit(await body(request, MAX_ENVELOPE_BYTES)));
    case 'GET /envelopes': {
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      for await (const { hash, bytes } of handlers.envelopes()) {
        if (!response.write(`${JSON.stringify({ hash, envelope: Buffer.from(bytes).toString('base64') })}\n`)) await once(response, 'drain');
      }
      response.end();
      return;
    }
    case 'GET /metrics':
      response.writeHead(200, { 'content-type': handlers.metrics.contentType }).end(await handlers.metrics.metrics());
      return;
    default:
      throw new HttpError(404, 'NOT_FOUND', `no route ${key(request)}; see daemon/api.ts`);
  }
}

function key(request: IncomingMessage): string {
  return `${request.method} ${new URL(request.url ?? '/', 'http://localhost').pathname}`;
}

/** Store refusals of a valid envelope (store/vote-cap.ts): the submitter's doing, not a failure. */
const REFUSALS = new Set(['KEY_ALREADY_VOTED', 'KEY_DIGEST_CAP']);

export interface RunningApi {
  address: string;
  close(): Promise<void>;
}

/**
 * Listens on `listen`: "127.0.0.1:7780" (loopback only) or an absolute unix socket path in a
 * 0700 directory of this user (INSECURE_DIR otherwise), and answers requests that carry `token`.
 */
export async function startApi(listen: string, handlers: ApiHandlers, token: string): Promise<RunningApi> {
  const server: Server = createServer((request, response) => {
    const auth = checkRequest(token, { method: request.method ?? '', path: request.url ?? '', authorization: request.headers.authorization, nonce: request.headers[NONCE_HEADER] });
    if (!auth.ok) {
      response.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'UNAUTHORIZED', message: `${key(request)}: expected this daemon's token (Authorization: Bearer <api.token>, or the CLI's Stagex-HMAC), got ${request.headers.authorization === undefined ? 'no Authorization header' : 'another'}` } }));
      return;
    }
    if (auth.proof) response.setHeader(PROOF_HEADER, auth.proof);
    route(handlers, request, response).catch((error: unknown) => {
      // Only the request can be a client's fault (bad bytes, an unknown signer, an envelope
      // the per-key cap refuses); a store or node failure is the server's and says so.
      const [status, code, message] = error instanceof HttpError ? [error.status, error.code, error.message]
        : error instanceof ProtocolError ? [400, error.code, error.message]
        : error instanceof StoreError && REFUSALS.has(error.code) ? [409, error.code, error.message]
        : error instanceof StagexError ? [500, error.code, `${key(request)}: ${error.message}`]
        : [500, 'INTERNAL', `${key(request)}: ${(error as Error).message}`];
      if (!response.headersSent) response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code, message } }));
    });
  });
  const socket = listen.startsWith('/');
  if (socket) {
    await requirePrivateDir(dirname(listen), 0o077, `api.listen ${listen}`);
    await clearStaleSocket(listen);
  }
  const [host, port] = socket ? [undefined, undefined] : [listen.slice(0, listen.lastIndexOf(':')).replace(/^\[|\]$/g, ''), Number(listen.slice(listen.lastIndexOf(':') + 1))];
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE'
      ? new DaemonError('API_IN_USE', `api.listen ${listen}: expected a free address, got one in use (another stagex-node?)`)
      : new DaemonError('BAD_CONFIG', `api.listen ${listen}: ${error.message}`)));
    if (socket) server.listen(listen, resolve);
    else server.listen(port, host, resolve);
  });
  const address = server.address();
  return {
    address: typeof address === 'string' ? address : `${address!.address}:${address!.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * Makes way for the API socket at `path`: nothing there is fine; a socket nobody answers on (a
 * daemon that died) is removed. Anything else is refused, never deleted: a regular file or a
 * directory there is the operator's (BAD_CONFIG), a socket that answers is another daemon's
 * (API_IN_USE).
 */
export async function clearStaleSocket(path: string): Promise<void> {
  const info = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new DaemonError('BAD_CONFIG', `api.listen ${path}: cannot inspect (${error.code ?? error.message})`);
  });
  if (info === undefined) return;
  if (!info.isSocket()) {
    throw new DaemonError('BAD_CONFIG', `api.listen ${path}: expected a unix socket path (nothing there, or a dead daemon's socket), got ${kindOf(info)}; move it away or choose another path`);
  }
  const answers = await new Promise<boolean>((resolve, reject) => {
    const probe = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNREFUSED' ? resolve(false) : reject(new DaemonError('BAD_CONFIG', `api.listen ${path}: cannot probe the socket there (${error.code ?? error.message})`))));
  });
  if (answers) throw new DaemonError('API_IN_USE', `api.listen ${path}: expected no process on this socket, got one answering (another stagex-node?); stop it or choose another path`);
  await unlink(path);
}
