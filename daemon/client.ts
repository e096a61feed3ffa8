/**
 * The CLI's way to a node's answers: ask the running daemon's local API, and when none
 * answers, open the store directly (LevelDB allows one process: a running daemon holds it).
 */
import { request } from 'node:http';
import type { AttestationStore } from '../store/store.ts';
import { withStore, type NodeContext } from './context.ts';
import { DaemonError } from './errors.ts';
import { StagexError } from '../protocol/errors.ts';

interface ApiReply { status: number; body: string }

export function callApi(listen: string, method: string, path: string, payload?: Uint8Array | string): Promise<ApiReply | undefined> {
  const target = listen.startsWith('/') ? { socketPath: listen } : { host: listen.slice(0, listen.lastIndexOf(':')).replace(/^\[|\]$/g, ''), port: Number(listen.slice(listen.lastIndexOf(':') + 1)) };
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
  const json = JSON.parse(reply.body) as T & { error?: { code: string; message: string } };
  if (reply.status !== 200) throw new DaemonError(reply.status === 400 ? 'USAGE' : 'NOT_FOUND', `daemon: ${json.error?.message ?? reply.body}`);
  return json;
}

/** Asks only the daemon: for what exists only while one runs (status, peers). */
export async function askDaemon<T>(context: NodeContext, path: string): Promise<T | undefined> {
  const reply = await callApi(context.config.api.listen, 'GET', path);
  return reply ? (JSON.parse(reply.body) as T) : undefined;
}

/** Submit through the daemon's POST /envelopes; its refusals come back as StagexError codes. */
export function daemonSubmit(listen: string) {
  return async (bytes: Uint8Array, where: string): Promise<{ result: 'added' | 'present'; hash: string }> => {
    const reply = await callApi(listen, 'POST', '/envelopes', bytes);
    if (!reply) throw new DaemonError('NOT_FOUND', `${where}: the daemon stopped answering on ${listen}`);
    const json = JSON.parse(reply.body) as { result: 'added' | 'present'; hash: string; error?: { code: string; message: string } };
    if (reply.status !== 200) throw new StagexError(json.error?.code ?? 'DAEMON', `${where}: ${json.error?.message ?? reply.body}`);
    return json;
  };
}

/** Whether a daemon answers on the config's API address. */
export async function daemonRunning(listen: string): Promise<boolean> {
  return (await callApi(listen, 'GET', '/status')) !== undefined;
}
