/**
 * The CLI's way to a node's answers: ask the running daemon's local API, and when none
 * answers, open the store directly (LevelDB allows one process: a running daemon holds it).
 *
 * An answer is believed only when it proves it comes from this config's daemon (DESIGN section
 * 8; api-auth.ts): with no token file no request is sent, and an answer without a valid proof is
 * API_UNAUTHENTICATED. Reads that can fall back to the store do so then (the store's lock tells
 * whether our daemon holds it); everything else fails with that code.
 */
import type { IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import type { AttestationStore } from '../store/store.ts';
import type { QueryAnswer, QueryParams } from './answers.ts';
import { withStore, type NodeContext } from './context.ts';
import type { Config } from './config.ts';
import { DaemonError } from './errors.ts';
import { StagexError } from '../protocol/errors.ts';
import { SIGNATURES_PER_REQUEST } from './api-request.ts';
import { signRequest, PROOF_HEADER } from './api-auth.ts';
import { readApiToken } from './api-token.ts';
import type { SignatureOutcome } from './signature-import.ts';
import type { ReloadSummary } from './reload.ts';

/**
 * node:http as its CommonJS object: an ESM import of it makes Node evaluate every export of
 * the module namespace, undici's lazy ones included (~30 ms of CPU in each CLI process that
 * asks the daemon, `verify` first); only `request` is used here.
 */
const { request } = process.getBuiltinModule('node:http');

interface ApiReply { status: number; body: string }

/** Where this config's daemon answers, and the token it wrote (undefined: no daemon of this config). */
export interface LocalApi {
  listen: string;
  token: string | undefined;
}

/** The local API of the node `config` describes, with its daemon's token when one runs. */
export async function localApi(config: Pick<Config, 'api' | 'dir'>): Promise<LocalApi> {
  return { listen: config.api.listen, token: await readApiToken(config.dir) };
}

function targetOf(listen: string) {
  return listen.startsWith('/') ? { socketPath: listen } : { host: listen.slice(0, listen.lastIndexOf(':')).replace(/^\[|\]$/g, ''), port: Number(listen.slice(listen.lastIndexOf(':') + 1)) };
}

/**
 * Sends `method path [payload]` with this config's token and resolves with the answer's
 * response once its proof holds, before any of its body is read. Undefined when no daemon of
 * this config can be there: no token file, or nothing listening (a dead daemon's token).
 */
function send(api: LocalApi, method: string, path: string, payload?: Uint8Array | string): Promise<IncomingMessage | undefined> {
  const { token, listen } = api;
  if (token === undefined) return Promise.resolve(undefined);
  const signed = signRequest(token, method, path);
  return new Promise((resolve, reject) => {
    const req = request({ ...targetOf(listen), method, path, timeout: 30_000, headers: { ...signed.headers, ...(payload ? { 'content-type': 'application/octet-stream' } : {}) } }, (res) => {
      if (res.statusCode !== 401 && signed.proven(res.headers[PROOF_HEADER])) return resolve(res);
      res.resume();
      reject(new DaemonError('API_UNAUTHENTICATED', `local API ${listen}: ${method} ${path}: expected an answer proven with the token in api.token beside the config, got ${res.statusCode === 401 ? 'HTTP 401 (a daemon holding another token)' : `HTTP ${res.statusCode} without a valid proof (another process on the address)`}; believing nothing from it`));
    });
    req.on('timeout', () => req.destroy(new Error(`local API ${listen}: no answer within 30 s`)));
    req.on('error', (error: NodeJS.ErrnoException) => (['ECONNREFUSED', 'ENOENT'].includes(error.code ?? '') ? resolve(undefined) : reject(error)));
    req.end(payload);
  });
}

/** `send`, with the whole body read. */
export async function callApi(api: LocalApi, method: string, path: string, payload?: Uint8Array | string): Promise<ApiReply | undefined> {
  const res = await send(api, method, path, payload);
  if (!res) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
  return { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') };
}

/** The answer, or undefined when it cannot be attributed to this config's daemon. */
const unlessUnauthenticated = (error: unknown): undefined => {
  if (error instanceof DaemonError && error.code === 'API_UNAUTHENTICATED') return undefined;
  throw error;
};

/** Asks the daemon (`method path [payload]`), or runs `local` on the store when none runs. */
export async function ask<T>(context: NodeContext, method: string, path: string, payload: Uint8Array | string | undefined, local: (store: AttestationStore) => Promise<T>): Promise<T> {
  // An answer not attributable to our daemon is as good as none: the store then answers, or
  // its lock says our daemon holds it (DESIGN section 8: never a verdict from elsewhere).
  const reply = await callApi(await localApi(context.config), method, path, payload).catch(unlessUnauthenticated);
  if (!reply) return withStore(context, local);
  if (reply.status !== 200) throw replyError(reply, `daemon on ${context.config.api.listen}: ${method} ${path}`);
  return JSON.parse(reply.body) as T;
}

/** Asks only the daemon: for what exists only while one runs (status, peers). */
export async function askDaemon<T>(context: Pick<NodeContext, 'config'>, path: string): Promise<T | undefined> {
  const reply = await callApi(await localApi(context.config), 'GET', path);
  if (reply && reply.status !== 200) throw replyError(reply, `daemon on ${context.config.api.listen}: GET ${path}`);
  return reply ? (JSON.parse(reply.body) as T) : undefined;
}

/**
 * The error for a non-200 answer, by whose fault it is: a refused request (4xx) keeps the
 * daemon's code (BAD_REQUEST, BAD_ENVELOPE, ..), a missing route is NOT_FOUND, a full disk
 * (507) keeps its STORE_FULL, and a daemon that failed otherwise (5xx: its store, a bug) is
 * DAEMON_FAILED, never mistaken for "not found".
 */
export function replyError(reply: ApiReply, where: string): StagexError {
  let error: { code?: unknown; message?: unknown } | undefined;
  try {
    error = (JSON.parse(reply.body) as { error?: typeof error }).error;
  } catch {
    error = undefined;
  }
  const message = `${where}: HTTP ${reply.status}: ${typeof error?.message === 'string' ? error.message : reply.body.slice(0, 200)}`;
  // 507: the daemon's disk is full (STORE_FULL): not stored, and worth retrying once space returns.
  if (reply.status === 507 && typeof error?.code === 'string') return new StagexError(error.code, message);
  if (reply.status >= 500) return new DaemonError('DAEMON_FAILED', message);
  if (reply.status === 404) return new DaemonError('NOT_FOUND', message);
  return typeof error?.code === 'string' ? new StagexError(error.code, message) : new DaemonError('USAGE', message);
}

/** Submit through the daemon's POST /envelopes; its refusals come back as StagexError codes. */
export function daemonSubmit(api: LocalApi) {
  return async (bytes: Uint8Array, where: string): Promise<{ result: 'added' | 'present'; hash: string }> => {
    const reply = await callApi(api, 'POST', '/envelopes', bytes);
    if (!reply) throw new DaemonError('NOT_FOUND', `${where}: the daemon stopped answering on ${api.listen}`);
    if (reply.status !== 200) throw replyError(reply, where);
    return JSON.parse(reply.body) as { result: 'added' | 'present'; hash: string };
  };
}

/** StageX signature files through the daemon's POST /signatures, in requests of SIGNATURES_PER_REQUEST. */
export async function daemonSignatures(api: LocalApi, files: readonly { path: string; bytes: Uint8Array }[]): Promise<SignatureOutcome[]> {
  const outcomes: SignatureOutcome[] = [];
  for (let i = 0; i < files.length; i += SIGNATURES_PER_REQUEST) {
    const chunk = files.slice(i, i + SIGNATURES_PER_REQUEST).map((f) => ({ path: f.path, signature: Buffer.from(f.bytes).toString('base64') }));
    const reply = await callApi(api, 'POST', '/signatures', JSON.stringify({ files: chunk }));
    if (!reply) throw new DaemonError('NOT_FOUND', `daemon on ${api.listen}: it stopped answering during signatures import`);
    if (reply.status !== 200) throw replyError(reply, `daemon on ${api.listen}: POST /signatures`);
    outcomes.push(...(JSON.parse(reply.body) as { outcomes: SignatureOutcome[] }).outcomes);
  }
  return outcomes;
}

/**
 * Whether this config's daemon answers on its API address. An answer it cannot prove is no
 * daemon of ours: the caller then opens the store, whose lock tells the truth.
 */
export async function daemonRunning(api: LocalApi): Promise<boolean> {
  return (await callApi(api, 'GET', '/health').catch(unlessUnauthenticated)) !== undefined;
}

/**
 * Asks this config's daemon to reload its config file (POST /reload): what changed, or
 * undefined when no daemon of this config answers. A file the daemon refuses is its BAD_CONFIG.
 */
export async function daemonReload(api: LocalApi): Promise<ReloadSummary | undefined> {
  const reply = await callApi(api, 'POST', '/reload').catch(unlessUnauthenticated);
  if (!reply) return undefined;
  if (reply.status !== 200) throw replyError(reply, `daemon on ${api.listen}: POST /reload`);
  return JSON.parse(reply.body) as ReloadSummary;
}

/** The daemon's answer to a query, when the daemon holds the store (no fallback). */
export async function daemonQuery(api: LocalApi, params: QueryParams): Promise<QueryAnswer> {
  const reply = await callApi(api, 'GET', `/query?${new URLSearchParams({ ...params })}`);
  if (!reply) throw new DaemonError('NOT_FOUND', `daemon on ${api.listen}: query failed, it stopped answering`);
  if (reply.status !== 200) throw replyError(reply, `daemon on ${api.listen}: GET /query`);
  return JSON.parse(reply.body) as QueryAnswer;
}

/** Calls `onLine` with each line of a streamed GET answer (JSON lines), one at a time. */
export async function streamApi(api: LocalApi, path: string, onLine: (line: string) => Promise<void>): Promise<void> {
  const response = await send(api, 'GET', path);
  if (!response) throw new DaemonError('NOT_FOUND', `daemon on ${api.listen}: GET ${path}: it stopped answering`);
  if (response.statusCode !== 200) {
    const chunks: Buffer[] = [];
    for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk);
    throw replyError({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }, `daemon on ${api.listen}: GET ${path}`);
  }
  for await (const line of createInterface({ input: response, crlfDelay: Infinity })) if (line !== '') await onLine(line);
}
