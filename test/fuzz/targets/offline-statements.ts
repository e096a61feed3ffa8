/**
 * What `stagex-node statements import` reads from an offline signer's directory
 * (daemon/signer/statement-files.ts): the `.sig` beside each exported statement
 * (protocol/signature-bytes.ts decodeSignature: raw, hex or base64) and `index.json`
 * (parseIndex). Inputs: valid signatures in each form with whitespace, case and padding
 * variants and byte edits, random bytes, and valid indexes with fields dropped, retyped,
 * renamed or nested deep.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseIndex, type Index } from '../../../daemon/signer/statement-files.ts';
import { decodeSignature } from '../../../protocol/signature-bytes.ts';
import { deepJsonText, mutatedBytes, mutatedJson, mutatedText, randomBytes, type FuzzTarget } from '../harness.ts';

const SIG_FILE = '/offline/core-busybox-0123456789ab.sig';
const INDEX_FILE = '/offline/index.json';
const HEX = 'ab'.repeat(32);

const raw = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff));
const forms = [raw, Buffer.from(raw.toString('hex')), Buffer.from(`${raw.toString('hex').toUpperCase()}\r\n`), Buffer.from(raw.toString('base64')), Buffer.from(`${raw.toString('base64url')}\n`), Buffer.from(` ${raw.toString('base64')}\t`)].map((b) => new Uint8Array(b));

export const offlineSignatureTarget: FuzzTarget<Uint8Array> = {
  name: 'offline signature (.sig)',
  arbitrary: fc.oneof(fc.constantFrom(...forms), mutatedBytes(forms), randomBytes, fc.uint8Array({ minLength: 60, maxLength: 140 })),
  decode: (bytes) => decodeSignature(bytes, SIG_FILE),
  codes: ['BAD_ENCODING'],
  where: SIG_FILE,
  check(value) {
    assert.equal((value as Uint8Array).length, 64);
  },
};

const index = {
  '//': 'comment',
  format: 'stagex-node/unsigned-statements/1',
  payloadType: 'application/vnd.in-toto+json',
  keyid: HEX,
  publicKey: 'cd'.repeat(32),
  statements: [{ name: 'core-busybox-0123456789ab', image: 'core-busybox', platform: 'linux/amd64', inputDigest: HEX, digest: HEX, payloadSha256: HEX }],
};

export const statementsIndexTarget: FuzzTarget<string> = {
  name: 'statements index.json',
  arbitrary: fc.oneof(mutatedJson([index]), mutatedText([JSON.stringify(index, null, 2)]), deepJsonText, deepJsonText.map((d) => `{"statements":${d}}`)),
  decode: (text) => parseIndex(text, INDEX_FILE),
  codes: ['BAD_STATEMENTS'],
  where: INDEX_FILE,
  check(value) {
    for (const entry of (value as Index).statements) assert.match(entry.name, /^[A-Za-z0-9][A-Za-z0-9._+-]*$/);
  },
};
