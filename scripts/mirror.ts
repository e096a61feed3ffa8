/**
 * A static file server for one directory on 127.0.0.1: a source mirror for tests and for offline
 * reproducers. GET and HEAD of regular files only, streamed; no listings, nothing outside the
 * directory (`.` and `..` segments refused, symlinks resolved and checked).
 *
 *   node scripts/mirror.ts DIR [--port N]     serves until SIGINT or SIGTERM
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';

export interface Mirror {
  /** `http://127.0.0.1:<port>/`: a file `a/b` of the directory is at `<url>a/b`. */
  url: string;
  port: number;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** Serves `dir` on 127.0.0.1 at `port` (default 0: an ephemeral port). */
export async function serveMirror(dir: string, options: { port?: number } = {}): Promise<Mirror> {
  const root = await realpath(dir);
  const server = createServer((request, response) => void answer(root, request, response).catch(() => response.destroy()));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    close: () => new Promise((resolve, reject) => {
      server.close((error) => (error === undefined ? resolve() : reject(error)));
      server.closeAllConnections();
    }),
  };
}

async function answer(root: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return void response.writeHead(405, { allow: 'GET, HEAD' }).end();
  const file = await resolveFile(root, request.url ?? '/');
  if (typeof file === 'number') return void response.writeHead(file).end();
  response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.size });
  if (request.method === 'HEAD') return void response.end();
  await pipeline(createReadStream(file.path), response);
}

/** The regular file under `root` that a request target names, or the status to answer instead. */
async function resolveFile(root: string, target: string): Promise<{ path: string; size: number } | number> {
  let segments: string[];
  try {
    segments = decodeURIComponent(target.replace(/[?#].*$/, '')).split('/').filter((s) => s !== '');
  } catch {
    return 400;
  }
  if (segments.some((s) => s === '.' || s === '..' || s.includes('\0'))) return 400;
  const inside = root.endsWith(sep) ? root : root + sep;
  try {
    const path = await realpath(join(root, ...segments));
    if (!path.startsWith(inside)) return 404;
    const info = await stat(path);
    return info.isFile() ? { path, size: info.size } : 404;
  } catch {
    return 404;
  }
}

if (import.meta.main) {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { port: { type: 'string' } } });
  const port = Number(values.port ?? 0);
  if (positionals.length !== 1 || !Number.isInteger(port) || port < 0 || port > 65535) {
    console.error('usage: node scripts/mirror.ts DIR [--port N]');
    process.exit(2);
  }
  const mirror = await serveMirror(positionals[0]!, { port });
  console.log(`serving ${positionals[0]} at ${mirror.url}`);
  const stop = (): void => void mirror.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
