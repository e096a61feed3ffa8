import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildPayload, parsePayload, parseSignatureDirectory, parseSignaturePath, signatureDirectory } from '../../protocol/stagex-signature.ts';
import { hex64 } from '../helpers/fixtures.ts';

const HEX = hex64('manifest');
const bytes = (text: string) => new TextEncoder().encode(text);

describe('buildPayload', () => {
  it('is byte for byte what sign.sh prints (its printf format with stagex, the image and sha256:<hex>)', () => {
    const expected = `{"critical":{"identity":{"docker-reference":"stagex/core-busybox"},"image":{"docker-manifest-digest":"sha256:${HEX}"},"type":"atomic container signature"},"optional":{}}`;
    assert.equal(Buffer.from(buildPayload('core-busybox', HEX)).toString('utf8'), expected);
  });
  it('refuses an image name or digest that would change the JSON', () => {
    assert.throws(() => buildPayload('core-a"b', HEX));
    assert.throws(() => buildPayload('core-a', HEX.toUpperCase()));
  });
});

describe('parsePayload', () => {
  it('reads the current payload back', () => {
    assert.deepEqual(parsePayload(buildPayload('user-yq', HEX), 'p'), { image: 'user-yq', digest: HEX, legacy: false });
  });
  it('accepts a :tag on the docker-reference', () => {
    const text = Buffer.from(buildPayload('user-yq', HEX)).toString().replace('stagex/user-yq', 'stagex/user-yq:2025.10.0');
    assert.deepEqual(parsePayload(bytes(text), 'p'), { image: 'user-yq', digest: HEX, tag: '2025.10.0', legacy: false });
  });
  it('accepts optional fields (creator, timestamp) as containers/image writes them', () => {
    const text = Buffer.from(buildPayload('user-yq', HEX)).toString().replace('"optional":{}', '"optional":{"creator":"skopeo","timestamp":1}');
    assert.equal(parsePayload(bytes(text), 'p').image, 'user-yq');
  });
  it('reads the legacy variant: an array, type "pgp container image signature", no sha256: prefix', () => {
    const legacy = `[{"critical":{"identity":{"docker-reference":"stagex/user-yq"},"image":{"docker-manifest-digest":"${HEX}"},"type":"pgp container image signature"},"optional":null}]`;
    assert.deepEqual(parsePayload(bytes(legacy), 'p'), { image: 'user-yq', digest: HEX, legacy: true });
  });
  const current = Buffer.from(buildPayload('user-yq', HEX)).toString();
  for (const [name, text] of [
    ['bytes that are not UTF-8', '\xff\xfe'],
    ['text that is not JSON', 'hello'],
    ['another type', current.replace('atomic container signature', 'cosign container image signature')],
    ['the legacy type in the current shape', current.replace('atomic container signature', 'pgp container image signature')],
    ['a digest without sha256: in the current shape', current.replace(`sha256:${HEX}`, HEX)],
    ['another registry', current.replace('stagex/user-yq', 'evil/user-yq')],
    ['a reference with a digest', current.replace('stagex/user-yq', `stagex/user-yq@sha256:${HEX}`)],
    ['a name that is no StageX image', current.replace('stagex/user-yq', 'stagex/yq')],
    ['an unknown critical field', current.replace('"type":', '"extra":1,"type":')],
    ['a legacy array of two', `[${current},${current}]`],
  ] as const) {
    it(`refuses ${name} with BAD_SIGNATURE_PAYLOAD`, () => {
      const input = name === 'bytes that are not UTF-8' ? new Uint8Array([0xff, 0xfe]) : bytes(text);
      assert.throws(() => parsePayload(input, 'p'), { code: 'BAD_SIGNATURE_PAYLOAD' });
    });
  }
});

describe('the lookaside path', () => {
  it('reads <image>@sha256=<hex>/signature-<n>', () => {
    assert.deepEqual(parseSignaturePath(`core-go@sha256=${HEX}/signature-12`), { image: 'core-go', digest: HEX, n: 12 });
  });
  it('writes the directory under signatures/stagex', () => {
    assert.equal(signatureDirectory('core-go', HEX), `signatures/stagex/core-go@sha256=${HEX}`);
  });
  for (const path of [`core-go@sha256:${HEX}/signature-1`, `core-go@sha256=${HEX.slice(1)}/signature-1`, `go@sha256=${HEX}/signature-1`, `core-go@sha256=${HEX}/signature-0`, `core-go@sha256=${HEX}/signature-01`, `core-go@sha256=${HEX}/sig-1`, `core-go@sha256=${HEX}`, `../core-go@sha256=${HEX}/signature-1`]) {
    it(`refuses ${path.replace(HEX, '<hex>').replace(HEX.slice(1), '<63 hex>')} with BAD_SIGNATURE_PATH`, () => {
      assert.throws(() => parseSignaturePath(path), { code: 'BAD_SIGNATURE_PATH' });
    });
  }
  it('refuses a directory name with a slash', () => {
    assert.throws(() => parseSignatureDirectory(`a/core-go@sha256=${HEX}`), { code: 'BAD_SIGNATURE_PATH' });
  });
});
