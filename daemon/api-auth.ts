/**
 * Mutual authentication of the local API (DESIGN section 8), with the token of api-token.ts.
 *
 * The CLI never sends the token itself: a process that bound the API port while the daemon was
 * down (a dead daemon's token file is still there) would receive it and could then forge the
 * proof below. Instead each request carries a fresh nonce and a MAC of the nonce, method and
 * path, and every authenticated answer carries a proof, a MAC of the nonce under another label,
 * so the request's own MAC can never be echoed back as a proof. Only a holder of the token, the
 * daemon that wrote it, can answer with a valid proof; the client checks it before reading a
 * body. `Authorization: Bearer <token>` is accepted too, for scrapers and curl, which do not
 * check who answers.
 *
 * The proof covers the nonce, not the body: on loopback or a unix socket nobody can alter an
 * answer in flight, only be the one answering, and the daemon cannot be both reachable on its
 * address and impersonated there.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const NONCE_HEADER = 'x-stagex-nonce';
export const PROOF_HEADER = 'x-stagex-proof';
/** The CLI's scheme in `Authorization: Stagex-HMAC <hex>`. */
const HMAC_SCHEME = 'Stagex-HMAC ';
const BEARER_SCHEME = 'Bearer ';
const NONCE = /^[0-9a-f]{32,128}$/;
/** Distinct labels: a request's MAC is never a valid proof for its answer. */
const REQUEST = 'stagex-node api request';
const RESPONSE = 'stagex-node api response';

const mac = (token: string, label: string, ...parts: string[]) => createHmac('sha256', Buffer.from(token, 'hex')).update([label, ...parts].join('\n')).digest('hex');

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The headers a client sends for `method path`, and the check of the answer's proof. */
export function signRequest(token: string, method: string, path: string): { headers: Record<string, string>; proven: (proof: string | string[] | undefined) => boolean } {
  const nonce = randomBytes(16).toString('hex');
  const expected = mac(token, RESPONSE, nonce);
  return {
    headers: { [NONCE_HEADER]: nonce, authorization: `${HMAC_SCHEME}${mac(token, REQUEST, nonce, method, path)}` },
    proven: (proof) => typeof proof === 'string' && same(proof, expected),
  };
}

/**
 * Whether a request carries the token (Bearer) or a MAC made with it (Stagex-HMAC, with its
 * nonce), and the proof header to answer with when it sent a nonce.
 */
export function checkRequest(token: string, request: { method: string; path: string; authorization: string | undefined; nonce: string | string[] | undefined }): { ok: boolean; proof?: string } {
  const { authorization, nonce } = request;
  const validNonce = typeof nonce === 'string' && NONCE.test(nonce) ? nonce : undefined;
  const ok = authorization?.startsWith(BEARER_SCHEME) ? same(authorization.slice(BEARER_SCHEME.length), token)
    : authorization?.startsWith(HMAC_SCHEME) && validNonce !== undefined ? same(authorization.slice(HMAC_SCHEME.length), mac(token, REQUEST, validNonce, request.method, request.path))
    : false;
  return ok && validNonce !== undefined ? { ok, proof: mac(token, RESPONSE, validNonce) } : { ok };
}
