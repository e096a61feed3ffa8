/**
 * Local API requests (daemon/api-request.ts readApiRequest, after bodyLimit as the server calls
 * them) and their authentication (daemon/api-auth.ts checkRequest, which must never throw on
 * what an unauthenticated client sends). Inputs: every route with odd request targets (`//[`,
 * `%` escapes, unicode, repeated and unknown parameters), valid bodies with fields dropped or
 * retyped, random bodies, base64 signatures in other alphabets, arbitrary Authorization and
 * nonce headers.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkRequest } from '../../../daemon/api-auth.ts';
import { bodyLimit, readApiRequest, requestName, type ApiRequest } from '../../../daemon/api-request.ts';
import { imageNameSchema, sha256HexSchema } from '../../../protocol/statement.ts';
import { deepJsonText, mutatedJson, randomBytes, type FuzzTarget } from '../harness.ts';

const TOKEN = 'ab'.repeat(32);
const HEX = 'cd'.repeat(32);

export interface RawRequest {
  method: string;
  url: string;
  body: Uint8Array;
  authorization: string | undefined;
  nonce: string | string[] | undefined;
}

const routes = ['/health', '/status', '/peers', '/query', '/verify', '/verdicts', '/envelopes', '/signatures', '/metrics', '/', '//[', '/%', '/query/', '/QUERY', '//query', 'http://x/query', '*', ''];
const query = fc.array(fc.tuple(fc.constantFrom('image', 'digest', 'key', 'colour', '', '__proto__', 'constructor'), fc.oneof(
  fc.constantFrom('core-busybox', `sha256:${HEX}`, HEX, HEX.toUpperCase(), '%', '%zz', '%00', 'a'.repeat(300), ''),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
)), { maxLength: 4 }).map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));
const url = fc.oneof(
  { arbitrary: fc.tuple(fc.constantFrom(...routes), query).map(([path, q]) => (q ? `${path}?${q}` : path)), weight: 6 },
  fc.string({ unit: 'binary-ascii', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => `/${s}`),
);

const bodies = [
  { entries: [{ image: 'core-busybox', digest: HEX, where: 'digests/core.txt:1' }] },
  { files: [{ path: `core-busybox@sha256=${HEX}/signature-1`, signature: Buffer.from('signed').toString('base64') }] },
  { identities: [{ image: 'core-busybox', platform: 'linux/amd64', inputDigest: HEX }] },
];
const body: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constant(new Uint8Array()),
  randomBytes,
  fc.constantFrom(...bodies).map((b) => new Uint8Array(Buffer.from(JSON.stringify(b)))),
  mutatedJson(bodies).map((s) => new Uint8Array(Buffer.from(s))),
  fc.constantFrom('-_-_', 'AA', 'A', 'AA==', 'AA=', '====', ' AA', 'A'.repeat(90_000)).map((signature) => new Uint8Array(Buffer.from(JSON.stringify({ files: [{ path: 'p', signature }] })))),
  deepJsonText.map((s) => new Uint8Array(Buffer.from(`{"entries":${s}}`))),
);

const header = fc.option(fc.oneof(
  fc.constantFrom(`Bearer ${TOKEN}`, 'Bearer ', 'Bearer', `Stagex-HMAC ${'0'.repeat(64)}`, 'Stagex-HMAC ', 'Basic eA=='),
  fc.string({ unit: 'binary', maxLength: 80 }),
), { nil: undefined });
const nonce = fc.option(fc.oneof(fc.constantFrom('0'.repeat(32), 'f'.repeat(128), 'g'.repeat(32)), fc.string({ maxLength: 140 }), fc.array(fc.string(), { maxLength: 2 })), { nil: undefined });

export const apiRequestTarget: FuzzTarget<RawRequest> = {
  name: 'API request',
  arbitrary: fc.oneof(
    // Most requests name a route the API has, so that its parameters and body are read.
    { arbitrary: fc.record({ method: fc.constant('GET'), url: fc.tuple(fc.constantFrom('/query', '/query', '/health', '/envelopes', '/metrics'), query).map(([path, q]) => `${path}?${q}`), body, authorization: header, nonce }), weight: 3 },
    { arbitrary: fc.record({ method: fc.constant('POST'), url: fc.constantFrom('/verify', '/verdicts', '/signatures', '/envelopes', '/signatures?x=1'), body, authorization: header, nonce }), weight: 3 },
    { arbitrary: fc.record({ method: fc.constantFrom('GET', 'POST', 'PUT', 'HEAD', 'get', ''), url, body, authorization: header, nonce }), weight: 2 },
  ),
  decode(request) {
    const auth = checkRequest(TOKEN, { method: request.method, path: request.url, authorization: request.authorization, nonce: request.nonce });
    assert.equal(typeof auth.ok, 'boolean');
    const limit = bodyLimit(request.method, request.url);
    // The server answers 413 before reading a body over the limit.
    return readApiRequest(request.method, request.url, limit === undefined ? new Uint8Array() : request.body.subarray(0, limit));
  },
  codes: ['BAD_REQUEST', 'NOT_FOUND'],
  where: (request) => requestName(request.method, request.url),
  check(value) {
    const request = value as ApiRequest;
    if (request.route === 'query') {
      const { image, digest } = request.params;
      if (image !== undefined) imageNameSchema.parse(image);
      if (digest !== undefined) sha256HexSchema.parse(digest);
    }
    if (request.route === 'verify') for (const e of request.entries) sha256HexSchema.parse(e.digest);
    if (request.route === 'signatures') assert.ok(request.files.length > 0);
    if (request.route === 'verdicts') for (const i of request.identities) sha256HexSchema.parse(i.inputDigest);
  },
};
