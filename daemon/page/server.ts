/**
 * The status page's side of the local API (issue 12): the page itself, its JSON, its live event
 * stream and the build logs, and the gate for browsers (session.ts). api.ts hands this module
 * every request that carries no Authorization header (a browser's) once it listens on loopback
 * TCP, and every authenticated request for a route it does not know itself.
 *
 *   GET /login?expires=&nonce=&mac=   one-time login URL (`stagex-node open`) -> session cookie, 303 to /
 *   GET /  (/status.html)             the page: one HTML document, no external assets
 *   GET /page/verdicts                verdicts of the tree's builds and conflicts, with signer names (data.ts)
 *   GET /page/graph                   the tree's build graph (data.ts)
 *   GET /page/activity                this run's builds and recent events (activity.ts)
 *   GET /page/events                  text/event-stream of events as they happen
 *   GET /builds/<input digest>/log    a build's whole log (capped on disk, TRUNCATED marked);
 *       [?from=<byte>&follow=true]    followed as it grows (build-log-route.ts: `build --follow`)
 *
 * A browser session reads only: GET of these routes and of /health, /status, /peers, /query.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Activity, ActivityEvent } from './activity.ts';
import { BuildLogRoute } from './build-log-route.ts';
import type { PageGraph } from './data.ts';
import { statusPage } from './page.ts';
import { checkOrigin, LOGIN_PATH, Sessions, type Refusal } from './session.ts';

/** Routes of api.ts a browser session may read. */
const API_READS = new Set(['/health', '/status', '/peers', '/query']);
const LOG_ROUTE = /^\/builds\/([^/]*)\/log$/;
const PAGE_PATHS = new Set(['/', '/status.html']);
/** A live stream whose reader is this far behind is ended (it reconnects and catches up by reading). */
const STREAM_BACKLOG_BYTES = 1024 * 1024;
const HEARTBEAT_MS = 15_000;

export interface PageInit {
  token: string;
  activity: Activity;
  /** The verdicts to list, given the tree's graph (what the page colours). */
  verdicts(graph: PageGraph): Promise<unknown>;
  graph(): Promise<PageGraph>;
  /** builder.outputs: where build logs are (builder/outputs.ts). */
  outputs: string;
  now?: () => number;
}

export class PageServer {
  readonly #init: PageInit;
  readonly #now: () => number;
  readonly #streams = new Set<ServerResponse>();
  #sessions: Sessions | undefined;
  #port: number | undefined;
  #graph: Promise<PageGraph> | undefined;
  readonly #logs: BuildLogRoute;

  constructor(init: PageInit) {
    this.#init = init;
    this.#now = init.now ?? Date.now;
    this.#logs = new BuildLogRoute({ outputs: init.outputs, running: (inputDigest) => init.activity.running(inputDigest) });
  }

  /** Called by api.ts once it listens on TCP; on a unix socket the page is not served to browsers. */
  listening(port: number): void {
    this.#port = port;
    this.#sessions = new Sessions(this.#init.token, port);
  }

  /** Whether api.ts should hand this request (no Authorization header) to serveBrowser. */
  takes(request: IncomingMessage): boolean {
    return this.#sessions !== undefined && request.headers.authorization === undefined;
  }

  /**
   * A browser's request: login, or a session's read of this module's routes or of `API_READS`
   * (through `next`, api.ts's own routing). Anything else is refused before any work.
   */
  async serveBrowser(request: IncomingMessage, response: ServerResponse, next: () => Promise<void>): Promise<void> {
    const sessions = this.#sessions!;
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const origin = checkOrigin({ host: request.headers.host, origin: request.headers.origin, secFetchSite: header(request, 'sec-fetch-site') }, this.#port!);
    if (request.method === 'GET' && path === LOGIN_PATH) {
      if (!origin.ok) return refuse(response, origin);
      const login = sessions.login(new URL(request.url ?? '/', 'http://localhost').searchParams, this.#now());
      if (!login.ok) return refuse(response, login);
      response.writeHead(303, { location: '/', 'set-cookie': login.setCookie, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' }).end();
      return;
    }
    const session = sessions.check(request.headers.cookie, this.#now());
    if (!session.ok && origin.ok && PAGE_PATHS.has(path)) {
      // Someone typed the address: say how to get in, as a page.
      response.writeHead(401, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'none'" })
        .end('<!doctype html><meta charset="utf-8"><title>stagex-node: log in</title><p style="font: 16px system-ui, sans-serif; margin: 3em">This is a stagex-node status page. Run <code>stagex-node open</code> on this machine and open the one-time URL it prints.</p>');
      return;
    }
    if (!session.ok) return refuse(response, session);
    if (!origin.ok) return refuse(response, origin);
    if (request.method !== 'GET') return refuse(response, { ok: false, status: 403, code: 'FORBIDDEN', message: `${request.method} ${path}: a status page session only reads (GET); use the CLI to change anything` });
    if (await this.route(request, response)) return;
    if (API_READS.has(path)) return next();
    return refuse(response, { status: 404, code: 'NOT_FOUND', message: `no route GET ${path} for the status page; see daemon/page/server.ts` });
  }

  /** Serves this module's routes; false when `request` is for none of them. */
  async route(request: IncomingMessage, response: ServerResponse): Promise<boolean> {
    if (request.method !== 'GET') return false;
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const json = async (value: Promise<unknown>) => {
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(await value));
    };
    switch (path) {
      case '/':
      case '/status.html': {
        const page = statusPage();
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': page.csp, 'x-frame-options': 'DENY', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' }).end(page.html);
        return true;
      }
      case '/page/verdicts': await json((this.#graph ??= this.#init.graph()).then((graph) => this.#init.verdicts(graph))); return true;
      case '/page/graph': await json(this.#graph ??= this.#init.graph()); return true;
      case '/page/activity': await json(Promise.resolve({ now: this.#now(), builds: this.#init.activity.builds(), recent: this.#init.activity.recent() })); return true;
      case '/page/events': this.#stream(request, response); return true;
    }
    const log = LOG_ROUTE.exec(path);
    if (log === null) return false;
    await this.#logs.serve(decoded(log[1]!), new URL(request.url ?? '/', 'http://localhost').searchParams, response);
    return true;
  }

  /** Ends the live streams and log follows (they would keep the API's server from closing). */
  close(): void {
    this.#logs.close();
    for (const stream of this.#streams) stream.end();
    this.#streams.clear();
  }

  #stream(request: IncomingMessage, response: ServerResponse): void {
    const send = (event: ActivityEvent) => {
      if (response.writableLength > STREAM_BACKLOG_BYTES) return void response.end();
      response.write(`data: ${JSON.stringify(event)}\n\n`);
    };
    const stop = this.#init.activity.listen(send);
    if (stop === undefined) {
      response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '10' }).end(JSON.stringify({ error: { code: 'BUSY', message: 'GET /page/events: expected fewer live streams, got the most this daemon serves; close another page' } }));
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    response.write('retry: 3000\n: stagex-node live events\n\n');
    const heartbeat = setInterval(() => response.write(': ping\n\n'), HEARTBEAT_MS);
    this.#streams.add(response);
    const end = () => {
      clearInterval(heartbeat);
      stop();
      this.#streams.delete(response);
    };
    request.once('close', end);
    response.once('close', end);
  }
}

/** A path segment decoded, or as it came when it is not valid percent-encoding (then refused as not a digest). */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function refuse(response: ServerResponse, refusal: Refusal | { status: number; code: string; message: string }): void {
  response.writeHead(refusal.status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ error: { code: refusal.code, message: refusal.message } }));
}
