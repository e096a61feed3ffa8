import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSignature } from '../../protocol/signature-bytes.ts';
import { codeOf } from '../helpers/code-of.ts';

const signature = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff);
const text = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const hex = Buffer.from(signature).toString('hex');
const base64 = Buffer.from(signature).toString('base64');

describe('decodeSignature', () => {
  describe('when the output is one signature', () => {
    for (const [form, output] of [
      ['64 raw bytes', signature],
      ['lowercase hex with a newline', text(`${hex}\n`)],
      ['uppercase hex with CRLF', text(`${hex.toUpperCase()}\r\n`)],
      ['padded standard base64 with a newline', text(`${base64}\n`)],
      ['unpadded URL-safe base64', text(Buffer.from(signature).toString('base64url'))],
    ] as const) {
      it(`reads ${form}`, () => {
        assert.deepEqual(decodeSignature(output, 'test'), signature);
      });
    }
    it('takes 64 raw bytes as raw even when they are whitespace and hex digits', () => {
      const raw = text(`${'a'.repeat(62)}\n\n`);
      assert.deepEqual(decodeSignature(raw, 'test'), raw);
    });
  });
  describe('when the output is anything else', () => {
    for (const [what, output] of [
      ['empty output', new Uint8Array(0)],
      ['63 raw bytes', signature.subarray(1)],
      ['65 raw bytes', new Uint8Array(65)],
      ['hex of 63 bytes', text(hex.slice(2))],
      ['hex with a non-hex digit', text(`${hex.slice(1)}g`)],
      ['base64 of 65 bytes', text(Buffer.from(new Uint8Array(65)).toString('base64'))],
      ['an error message', text('Error: card not present\n')],
    ] as const) {
      it(`refuses ${what} as BAD_ENCODING`, () => {
        assert.equal(codeOf(() => decodeSignature(output, 'test')), 'BAD_ENCODING');
      });
    }
  });
});
