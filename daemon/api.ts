/**
 * The local HTTP API (DESIGN section 8), on a loopback address or a unix socket only. Every
 * request target, parameter and body is validated with zod (api-request.ts readApiRequest,
 * pure, fuzzed); bad input is a 400 with a code and a message
 * that says what was expected, and changes nothing. Anything else that fails (the store, the
 * node) is a 500 with its own code: the caller did nothing wrong, retrying may help; a full
 * disk is a 507 STORE_FULL (nothing stored; retry once space returns).
 *
 *   GET  /health                    envelope and peer counts (cheap: no verdicts)
 *   GET  /status                    node, peers, store and verdict counts
 *   GET  /peers                     connected peers
 *   GET  /query?image=|digest=|key= verdicts and votes
 *   POST /verify                    {"entries":[{"image","digest","where"?}]} -> manifest verdict
 *   POST /verdicts                  {"identities":[{"image","platform","inputDigest"}]} -> their verdicts
 *                                   (one point read each, never a scan: what `plan` shows)
 *   GET  /envelopes                 every stored envelope: JSON lines {"hash","envelope" (base64)}
 *   POST /envelopes                 one DSSE envelope (bytes) -> validated, stored, gossiped
 *   POST /signatures                {"files":[{"path","signature" (base64)}]} StageX OpenPGP signatures,
 *                                   path `<image>@sha256=<hex>/signature-<n>` -> per-file outcomes
 *   POST /reload                    re-read the config file: its trust and bootstrap apply now ->
 *                                   what changed; an invalid file is a 422 with its problems, and
 *                                   changes nothing
 *   GET  /store/check               the store's consistency walk (store/check.ts)
 *   GET  /metrics                   Prometheus text
 *   GET  /, /page/*, /builds/<input digest>/log   the status page and its data (daemon/page/server.ts)
 *
 * Every route, /metrics included, answers only a request authenticated with the token the
 * daemon wrote at start (api-auth.ts, api-token.ts); anything else gets 401 and no data. A
 * scraper sends `Authorization: Bearer <contents of api.token>`. On a unix socket the 0700
 * directory already keeps other users out; the token is still required there, so a daemon of
 * another config on the same path is refused just as on TCP. On loopback TCP a browser comes in
 * through the status page's gate instead (daemon/page/: a one-time login URL from
 * `stagex-node open`, then a session cookie, Host and Origin checked).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { lstat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { once } from 'node:events';
import { ProtocolError, StagexError } from '../protocol/errors.ts';
import type { Registry } from 'prom-client';
import { DaemonError } from './errors.ts';
import { StoreError } from '../store/errors.ts';
import { bodyLimit, HttpError, readApiRequest, requestName, type QueryParams, type VerdictIdentities, type VerifyEntries } from './api-request.ts';
import type { PageServer } from './page/server.ts';
import { kindOf } from './regular-file.ts';
import { checkRequest, NONCE_HEADER, PROOF_HEADER } from './api-auth.ts';
import { requirePrivateDir } from './private-dir.ts';
import { dirname } from 'node:path';

export interface ApiHandlers {
  health(): unknown;
  status(): Promise<unknown>;
  peers(): unknown;
  query(params: QueryParams): Promise<unknown>;
  verify(entries: VerifyEntries): Promise<unknown>;
  verdicts(identities: VerdictIdentities): Promise<unknown>;
  submit(bytes: Uint8Array): Promise<unknown>;
  /** StageX OpenPGP signature files, verified and stored as votes. */
  signatures(files: { path: string; bytes: Uint8Array }[]): Promise<unknown>;
  /** Every stored envelope, in hash order. */
  envelopes(): AsyncIterable<{ hash: string; bytes: Uint8Array }>;
  /** Re-reads the config file (DaemonError BAD_CONFIG, nothing changed, when it is invalid). */
  reload(): Promise<unknown>;
  /** The consistency walk of the store (`stagex-node store check` on a running node). */
  storeCheck(): Promise<unknown>;
  metrics: Registry;
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

async function route(handlers: ApiHandlers, request: IncomingMessage, response: ServerResponse, page: PageServer | undefined): Promise<void> {
  const [method, url] = [request.method ?? '', request.url ?? '/'];
  const limit = bodyLimit(method, url);
  let api;
  try {
    api = readApiRequest(method, url, limit === undefined ? new Uint8Array() : await body(request, limit));
  } catch (error) {
    // Not an API route: maybe the status page's (daemon/page/server.ts).
    if (page && error instanceof HttpError && error.code === 'NOT_FOUND' && await page.route(request, response)) return;
    throw error;
  }
  const send = (status: number, value: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
  };
  switch (api.route) {
    case 'health': return send(200, handlers.health());
    case 'status': return send(200, await handlers.status());
    case 'peers': return send(200, handlers.peers());
    case 'query': return send(200, await handlers.query(api.params));
    case 'verify': return send(200, await handlers.verify(api.entries));
    case 'verdicts': return send(200, await handlers.verdicts(api.identities));
    case 'signatures': return send(200, await handlers.signatures(api.files));
    case 'submit': return send(200, await handlers.submit(api.bytes));
    case 'envelopes': {
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      for await (const { hash, bytes } of handlers.envelopes()) {
        if (!response.write(`${JSON.stringify({ hash, envelope: Buffer.from(bytes).toString('base64') })}\n`)) await once(response, 'drain');
      }
      response.end();
      return;
    }
    case 'reload': {
      // The file is the operator's, not the request's: its problems are a 422 saying what is wrong where.
      const reloaded = await handlers.reload().catch((error: unknown) => {
        throw error instanceof StagexError && (error.code === 'BAD_CONFIG' || error.code === 'CONFIG_NOT_FOUND') ? new HttpError(422, error.code, error.message) : error;
      });
      return send(200, reloaded);
    }
    case 'storeCheck': return send(200, await handlers.storeCheck());
    case 'metrics':
      response.writeHead(200, { 'content-type': handlers.metrics.contentType }).end(await handlers.metrics.metrics());
      return;
  }
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
export async function startApi(listen: string, handlers: ApiHandlers, token: string, page?: PageServer): Promise<RunningApi> {
  const server: Server = createServer((request, response) => {
    // The status page (daemon/page/): a browser's request, with no Authorization, passes its own gate.
    const browser = page?.takes(request) === true;
    const auth = browser ? { ok: true, proof: undefined } : checkRequest(token, { method: request.method ?? '', path: request.url ?? '', authorization: request.headers.authorization, nonce: request.headers[NONCE_HEADER] });
    if (!auth.ok) {
      response.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'UNAUTHORIZED', message: `${requestName(request.method, request.url)}: expected this daemon's token (Authorization: Bearer <api.token>, or the CLI's Stagex-HMAC), got ${request.headers.authorization === undefined ? 'no Authorization header' : 'another'}` } }));
      return;
    }
    if (auth.proof) response.setHeader(PROOF_HEADER, auth.proof);
    (browser ? page!.serveBrowser(request, response, () => route(handlers, request, response, page)) : route(handlers, request, response, page)).catch((error: unknown) => {
      // Only the request can be a client's fault (bad bytes, an unknown signer, an envelope
      // the per-key cap refuses); a store or node failure is the server's and says so.
      const [status, code, message] = error instanceof HttpError ? [error.status, error.code, error.message]
        : error instanceof ProtocolError ? [400, error.code, error.message]
        : error instanceof StoreError && REFUSALS.has(error.code) ? [409, error.code, error.message]
        : error instanceof StagexError ? [error.code === 'STORE_FULL' ? 507 : 500, error.code, `${requestName(request.method, request.url)}: ${error.message}`]
        : [500, 'INTERNAL', `${requestName(request.method, request.url)}: ${(error as Error).message}`];
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
  if (page && typeof address !== 'string') page.listening(address!.port);
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
