/**
 * How a browser reaches the status page as safely as the CLI reaches the API (DESIGN section 8).
 *
 * A browser cannot read the 0600 token file or sign requests, so `stagex-node open` (which can)
 * prints a one-time login URL: an expiry, a random nonce and a MAC of both made with the token.
 * The daemon accepts each such URL once and before it expires, and answers with a fresh random
 * session id in an HttpOnly, SameSite=Strict cookie named after its port (loopback cookies are
 * shared by every port of a host). Every page, JSON and event-stream request must carry that
 * cookie and come to this daemon's own loopback address: a Host header other than the address
 * it listens on (DNS rebinding: a hostile name resolved to 127.0.0.1), or an Origin or
 * Sec-Fetch-Site naming another site, is refused whatever it carries.
 *
 * Every table here is bounded: used nonces live until their URL expires (at most
 * MAX_PENDING_LOGINS), sessions at most MAX_SESSIONS (the oldest goes first) for SESSION_MS.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** How long a login URL stays usable. */
export const LOGIN_TTL_MS = 5 * 60 * 1000;
/** How long a session lasts after its login. */
export const SESSION_MS = 12 * 3600 * 1000;
export const MAX_SESSIONS = 64;
export const MAX_PENDING_LOGINS = 1024;
export const LOGIN_PATH = '/login';

const LABEL = 'stagex-node page login';
const NONCE = /^[0-9a-f]{32}$/;
const MAC = /^[0-9a-f]{64}$/;
const SESSION = /^[0-9a-f]{64}$/;

const mac = (token: string, expires: number, nonce: string) => createHmac('sha256', Buffer.from(token, 'hex')).update(`${LABEL}\n${expires}\n${nonce}`).digest('hex');

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The one-time login URL of the daemon listening on `listen` (loopback host:port) that wrote `token`. */
export function loginUrl(listen: string, token: string, now: number): string {
  const expires = now + LOGIN_TTL_MS;
  const nonce = randomBytes(16).toString('hex');
  return `http://${listen}${LOGIN_PATH}?${new URLSearchParams({ expires: String(expires), nonce, mac: mac(token, expires, nonce) })}`;
}

/** The cookie that carries a session of the API on `port`. */
export function cookieName(port: number): string {
  return `stagex_session_${port}`;
}

export type Refusal = { ok: false; status: 401 | 403; code: 'UNAUTHORIZED' | 'FORBIDDEN'; message: string };
export type Admission = { ok: true } | Refusal;

/** The request headers the checks read. */
export interface BrowserRequest {
  host: string | undefined;
  origin: string | undefined;
  secFetchSite: string | undefined;
}

/**
 * Whether a request is addressed to this daemon as a browser on this machine would address it:
 * Host one of the loopback names with this port, Origin (when sent) that same origin, and
 * Sec-Fetch-Site (when sent) same-origin or none (typed or pasted into the address bar).
 */
export function checkOrigin(request: BrowserRequest, port: number): Admission {
  const hosts = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
  if (request.host === undefined || !hosts.includes(request.host.toLowerCase())) {
    return { ok: false, status: 403, code: 'FORBIDDEN', message: `Host: expected one of ${hosts.join(', ')}, got ${JSON.stringify(request.host ?? null)} (a name other than the loopback address this daemon listens on is refused: DNS rebinding)` };
  }
  if (request.origin !== undefined && request.origin !== `http://${request.host.toLowerCase()}`) {
    return { ok: false, status: 403, code: 'FORBIDDEN', message: `Origin: expected http://${request.host} or none, got ${JSON.stringify(request.origin)} (cross-origin requests are refused)` };
  }
  if (request.secFetchSite !== undefined && !['same-origin', 'none'].includes(request.secFetchSite)) {
    return { ok: false, status: 403, code: 'FORBIDDEN', message: `Sec-Fetch-Site: expected same-origin or none, got ${JSON.stringify(request.secFetchSite)} (requests from other sites are refused)` };
  }
  return { ok: true };
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/** The logins and sessions of one daemon run; `now` is passed in so tests need no clock. */
export class Sessions {
  readonly #token: string;
  readonly #port: number;
  /** nonce -> expiry of the login URL that carried it. */
  readonly #usedNonces = new Map<string, number>();
  /** session id -> expiry, oldest first. */
  readonly #sessions = new Map<string, number>();

  constructor(token: string, port: number) {
    this.#token = token;
    this.#port = port;
  }

  /**
   * Checks a login URL's query; on success returns the Set-Cookie value of a new session. A URL
   * that expired, was made with another token, or was used before is refused.
   */
  login(query: URLSearchParams, now: number): { ok: true; setCookie: string } | Refusal {
    const refuse = (why: string): Refusal => ({ ok: false, status: 401, code: 'UNAUTHORIZED', message: `login: ${why}; run \`stagex-node open\` for a fresh URL` });
    const expires = Number(query.get('expires'));
    const nonce = query.get('nonce') ?? '';
    const given = query.get('mac') ?? '';
    if (!Number.isSafeInteger(expires) || !NONCE.test(nonce) || !MAC.test(given)) return refuse('expected expires, nonce (32 hex) and mac (64 hex) as `stagex-node open` prints them');
    if (!same(given, mac(this.#token, expires, nonce))) return refuse('the URL was not made with this daemon\'s token (another daemon, or one since restarted)');
    if (expires <= now) return refuse(`the URL expired at ${new Date(expires).toISOString()}`);
    if (expires > now + LOGIN_TTL_MS) return refuse('the URL expires further ahead than a login URL can');
    for (const [n, at] of this.#usedNonces) if (at <= now) this.#usedNonces.delete(n);
    if (this.#usedNonces.has(nonce)) return refuse('the URL was used already (each login URL works once)');
    if (this.#usedNonces.size >= MAX_PENDING_LOGINS) return refuse(`expected at most ${MAX_PENDING_LOGINS} logins within ${LOGIN_TTL_MS / 60_000} minutes, got more`);
    this.#usedNonces.set(nonce, expires);
    const id = randomBytes(32).toString('hex');
    this.#sessions.set(id, now + SESSION_MS);
    for (const old of this.#sessions.keys()) {
      if (this.#sessions.size <= MAX_SESSIONS) break;
      this.#sessions.delete(old);
    }
    return { ok: true, setCookie: `${cookieName(this.#port)}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_MS / 1000}` };
  }

  /** Whether the request carries a live session cookie of this daemon. */
  check(cookieHeader: string | undefined, now: number): Admission {
    const id = cookieValue(cookieHeader, cookieName(this.#port));
    const expires = id !== undefined && SESSION.test(id) ? this.#sessions.get(id) : undefined;
    if (expires !== undefined && expires > now) return { ok: true };
    if (expires !== undefined) this.#sessions.delete(id!);
    return { ok: false, status: 401, code: 'UNAUTHORIZED', message: `expected this daemon's token (Authorization: Bearer <api.token>, or the CLI's Stagex-HMAC) or a status page session (cookie ${cookieName(this.#port)}: run \`stagex-node open\`), got ${id === undefined ? 'neither' : 'an unknown or expired session'}` };
  }
}
