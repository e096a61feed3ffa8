/**
 * protocol/encoding.ts: fromBase64 decides by the decoded length which texts are base64, and
 * must accept exactly what the rule written as a regular expression accepts (both alphabets,
 * at most two "=", never n % 4 = 1 characters before them), decoding to the same bytes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromBase64 } from '../../protocol/encoding.ts';

/** The rule as it reads: alphabet and padding by regex, then Node's decoder. */
function reference(text: string): Uint8Array | undefined {
  const unpadded = text.replace(/=+$/, '').length;
  if (unpadded % 4 === 1 || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

function decoded(text: string): Uint8Array | undefined {
  try {
    return fromBase64(text, 'test');
  } catch {
    return undefined;
  }
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_'.split('');
/** Alphabet characters mostly, and what a decoder might skip or misread: "=", spaces, controls, latin1, wider, lone surrogates. */
const character = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...ALPHABET) },
  { weight: 2, arbitrary: fc.constantFrom('=', ' ', '\n', '\t', '\0', '!', '.', '%', '\u00e9', '\u00ff', '\u0100', '\u0141', '\u2028', '\ud83d') },
);

describe('fromBase64', () => {
  it('accepts exactly the texts of the regex rule, with the same bytes', () => {
    fc.assert(fc.property(fc.array(character, { maxLength: 40 }).map((c) => c.join('')), (text) => {
      const expected = reference(text);
      const actual = decoded(text);
      assert.equal(actual === undefined, expected === undefined, `${JSON.stringify(text)}: expected ${expected ? 'accepted' : 'refused'}`);
      if (expected && actual) assert.deepEqual(Buffer.from(actual), Buffer.from(expected));
    }), { numRuns: 20_000 });
  });

  it('decodes padded, unpadded and URL-safe text and refuses a typo, a third "=" and a character above 0xff', () => {
    assert.deepEqual(Buffer.from(fromBase64('aGk=', 't')), Buffer.from('hi'));
    assert.deepEqual(Buffer.from(fromBase64('aGk', 't')), Buffer.from('hi'));
    assert.deepEqual(Buffer.from(fromBase64('-_8', 't')), Buffer.from([0xfb, 0xff]));
    for (const bad of ['aGk*', 'aGk===', 'a\u0147k=', 'aG=k', 'a']) assert.equal(decoded(bad), undefined, JSON.stringify(bad));
  });
});
