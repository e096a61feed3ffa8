/**
 * The CLI's way to a node's answers: ask the running daemon's local API, and when none
 * answers, open the store directly (LevelDB allows one process: a running daemon holds it).
 */
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import type { AttestationStore } from '../store/store.ts';
import type { QueryAnswer, QueryParams } from './answers.ts';
import { withStore, type NodeContext } from './context.ts';
import { DaemonError } from './errors.ts';
import { StagexError } from '../protocol/errors.ts';
import { SIGNATURES_PER_REQUEST } from './api.ts';
import type { SignatureOutcome } from './signature-import.ts';

interface ApiReply { status: number; body: string }

function targetOf(listen: string) {
  return listen.startsWith('/') ? { socketPath: listen } : { host: listen.slice(0, listen.lastIndexOf(':')).replace(/^\[|\]$/g, ''), port: Number(listen.slice(listen.lastIndexOf(':') + 1)) };
}

export function callApi(listen: string, method: string, path: string, payload?: Uint8Array | string): Promise<ApiReply | undefined> {
  const target = targetOf(listen);
  return new Promise((resolve, reject) => {
    const req = request({ ...target, method, path, timeout: 30_000, headers: payload ? { 'content-type': 'application/octet-stream' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`local API ${listen}: no answer within 30 s`)));
    req.on('error', (error: NodeJS.ErrnoException) => (['ECONNREFUSED', 'ENOENT'].includes(error.code ?? '') ? resolve(undefined) : reject(error)));
    req.end(payload);
  });
}

/** Asks the daemon (`method path [payload]`), or runs `local` on the store when none runs. */
export async function ask<T>(context: NodeContext, method: string, path: string, payload: Uint8Array | string | undefined, local: (store: AttestationStore) => Promise<T>): Promise<T> {
  const reply = await callApi(context.config.api.listen, method, path, payload);
  if (!reply) return withStore(context, local);
  if (reply.status !== 200) throw replyError(reply, `daemon on ${context.config.api.listen}: ${method} ${path}`);
  return JSON.parse(reply.body) as T;
}

/** Asks only the daemon: for what exists only while one runs (status, peers). */
export async function askDaemon<T>(context: NodeContext, path: string): Promise<T | undefined> {
  const reply = await callApi(context.config.api.listen, 'GET', path);
  if (reply && reply.status !== 200) throw replyError(reply, `daemon on ${context.config.api.listen}: GET ${path}`);
  return reply ? (JSON.parse(reply.body) as T) : undefined;
}

/**
 * The error for a non-200 answer, by whose fault it is: a refused request (4xx) keeps the
 * daemon's code (BAD_REQUEST, BAD_ENVELOPE, ..), a missing route is NOT_FOUND, and a daemon
 * that failed (5xx: its store, a bug) is DAEMON_FAILED, never mistaken for "not found".
 */
export function replyError(reply: ApiReply, where: string): StagexError {
  let error: { code?: unknown; message?: unknown } | undefined;
  try {
    error = (JSON.parse(reply.body) as { error?: typeof error }).error;
  } catch {
    error = undefined;
  }
  const message = `${where}: HTTP ${reply.status}: ${typeof error?.message === 'string' ? error.message : reply.body.slice(0, 200)}`;
  if (reply.status >= 500) return new DaemonError('DAEMON_FAILED', message);
  if (reply.status === 404) return new DaemonError('NOT_FOUND', message);
  return typeof error?.code === 'string' ? new StagexError(error.code, message) : new DaemonError('USAGE', message);
}

/** Submit through the daemon's POST /envelopes; its refusals come back as StagexError codes. */
export function daemonSubmit(listen: string) {
  return async (bytes: Uint8Array, where: string): Promise<{ result: 'added' | 'present'; hash: string }> => {
    const reply = await callApi(listen, 'POST', '/envelopes', bytes);
    if (!reply) throw new DaemonError('NOT_FOUND', `${where}: the daemon stopped answering on ${listen}`);
    if (reply.status !== 200) throw replyError(reply, where);
    return JSON.parse(reply.body) as { result: 'added' | 'present'; hash: string };
  };
}

/** StageX signature files through the daemon's POST /signatures, in requests of SIGNATURES_PER_REQUEST. */
export async function daemonSignatures(listen: string, files: readonly { path: string; bytes: Uint8Array }[]): Promise<SignatureOutcome[]> {
  const outcomes: SignatureOutcome[] = [];
  for (let i = 0; i < files.length; i += SIGNATURES_PER_REQUEST) {
    const chunk = files.slice(i, i + SIGNATURES_PER_REQUEST).map((f) => ({ path: f.path, signature: Buffer.from(f.bytes).toString('base64') }));
    const reply = await callApi(listen, 'POST', '/signatures', JSON.stringify({ files: chunk }));
    if (!reply) throw new DaemonError('NOT_FOUND', `daemon on ${listen}: it stopped answering during signatures import`);
    if (reply.status !== 200) throw replyError(reply, `daemon on ${listen}: POST /signatures`);
    outcomes.push(...(JSON.parse(reply.body) as { outcomes: SignatureOutcome[] }).outcomes);
  }
  return outcomes;
}

/** Whether a daemon answers on the config's API address. */
export async function daemonRunning(listen: string): Promise<boolean> {
  return (await callApi(listen, 'GET', '/status')) !== undefined;
}

/** The daemon's answer to a query, when the daemon holds the store (no fallback). */
export async function daemonQuery(listen: string, params: QueryParams): Promise<QueryAnswer> {
  const reply = await callApi(listen, 'GET', `/query?${new URLSearchParams({ ...params })}`);
  if (!reply) throw new DaemonError('NOT_FOUND', `daemon on ${listen}: query failed, it stopped answering`);
  if (reply.status !== 200) throw replyError(reply, `daemon on ${listen}: GET /query`);
  return JSON.parse(reply.body) as QueryAnswer;
}

/** Calls `onLine` with each line of a streamed GET answer (JSON lines), one at a time. */
export async function streamApi(listen: string, path: string, onLine: (line: string) => Promise<void>): Promise<void> {
  const response = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    request({ ...targetOf(listen), method: 'GET', path }, resolve).on('error', reject).end();
  });
  if (response.statusCode !== 200) {
    const chunks: Buffer[] = [];
    for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk);
    throw replyError({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }, `daemon on ${listen}: GET ${path}`);
  }
  for await (const line of createInterface({ input: response, crlfDelay: Infinity })) if (line !== '') await onLine(line);
}
