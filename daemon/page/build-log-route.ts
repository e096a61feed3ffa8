/**
 * `GET /builds/<input digest>/log[?from=<byte>&follow=true]`: one build's whole log as it is on
 * disk (builder/build-log.ts: capped, TRUNCATED marked), from a byte offset. With follow, the
 * answer goes on as the running build writes, and ends when the build has finished and all is
 * sent, or after FOLLOW_IDLE_MS with nothing new (long polling: the client asks again from where
 * it got to, so no idle connection outlives a client's timeout). At most MAX_FOLLOWERS follow.
 */
import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { outputPaths } from '../builder/outputs.ts';

export const MAX_FOLLOWERS = 16;
export const FOLLOW_IDLE_MS = 20_000;
const POLL_MS = 500;

const paramsSchema = z.strictObject({
  inputDigest: z.string().regex(/^[0-9a-f]{64}$/, 'expected an input digest of 64 lowercase hex characters'),
  from: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  follow: z.enum(['true', 'false']).default('false'),
});

export interface LogRouteInit {
  outputs: string;
  /** Whether a build of this input digest is running now. */
  running(inputDigest: string): boolean;
}

export class BuildLogRoute {
  readonly #init: LogRouteInit;
  #followers = 0;
  #closed = false;

  constructor(init: LogRouteInit) {
    this.#init = init;
  }

  /** Ends every follow at its next poll (the daemon stops). */
  close(): void {
    this.#closed = true;
  }

  async serve(inputDigest: string, query: URLSearchParams, response: ServerResponse): Promise<void> {
    const parsed = paramsSchema.safeParse({ inputDigest, ...Object.fromEntries(query) });
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return fail(response, 400, 'BAD_REQUEST', `GET /builds/<input digest>/log: ${issue.path.join('.') || '(root)'}: ${issue.message}, got ${JSON.stringify(String((issue.path[0] === 'inputDigest' ? inputDigest : query.get(String(issue.path[0]))) ?? '').slice(0, 80))}`);
    }
    const { from, follow } = parsed.data;
    const path = outputPaths(this.#init.outputs, inputDigest).log;
    const size = async () => {
      const info = await lstat(path).catch(() => undefined);
      return info?.isFile() ? info.size : undefined;
    };
    const running = () => this.#init.running(inputDigest);
    const first = await size();
    if (first === undefined && !(follow === 'true' && running())) {
      return fail(response, 404, 'NOT_FOUND', `GET /builds/${inputDigest}/log: no build log of this input digest here (never built on this node, or reused from an earlier version)`);
    }
    if (follow === 'false') {
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      await send(path, Math.min(from, first!), first!, response);
      return void response.end();
    }
    if (this.#followers >= MAX_FOLLOWERS) return fail(response, 503, 'BUSY', `GET /builds/${inputDigest}/log?follow=true: expected fewer followers, got the most this daemon serves (${MAX_FOLLOWERS})`);
    this.#followers += 1;
    let closed = false;
    response.once('close', () => { closed = true; });
    try {
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      let offset = from;
      let idleSince = Date.now();
      while (!closed && !this.#closed) {
        const now = (await size()) ?? 0;
        // A build started again replaces its log: begin anew.
        if (now < offset) offset = 0;
        if (now > offset) {
          await send(path, offset, now, response);
          offset = now;
          idleSince = Date.now();
        } else if (!running() || Date.now() - idleSince >= FOLLOW_IDLE_MS) break;
        else await sleep(POLL_MS);
      }
      response.end();
    } finally {
      this.#followers -= 1;
    }
  }
}

/** Writes bytes [start, end) of the file, waiting for the reader (memory stays bounded). */
async function send(path: string, start: number, end: number, response: ServerResponse): Promise<void> {
  if (end <= start) return;
  for await (const chunk of createReadStream(path, { start, end: end - 1 })) {
    if (!response.write(chunk)) await Promise.race([once(response, 'drain'), once(response, 'close')]);
    if (response.destroyed) return;
  }
}

function fail(response: ServerResponse, status: number, code: string, message: string): void {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ error: { code, message } }));
}
