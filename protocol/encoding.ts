/** Byte encodings and hashes shared by every protocol module. Pure: no I/O. */
import { hash } from 'node:crypto';
import { ProtocolError } from './errors.ts';

const HEX = /^[0-9a-f]*$/;
const EQUALS = 0x3d;

/** Lowercase hex sha256 of bytes or a UTF-8 string (one-shot: a third less CPU than a Hash object on an envelope). */
export function sha256Hex(data: Uint8Array | string): string {
  return hash('sha256', data, 'hex');
}

export function toHex(bytes: Uint8Array): string {
  return asBuffer(bytes).toString('hex');
}

/** A Buffer view of the same memory (no copy): Buffer.from(uint8array) would copy. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** UTF-8 text of bytes, without an intermediate copy. */
export function utf8(bytes: Uint8Array): string {
  return asBuffer(bytes).toString('utf8');
}

/** Decodes lowercase hex of an exact byte length (when given); anything else is BAD_ENCODING. */
export function fromHex(text: string, what: string, bytes?: number): Uint8Array {
  if (!HEX.test(text) || text.length % 2 !== 0 || (bytes !== undefined && text.length !== bytes * 2)) {
    const expected = bytes === undefined ? 'lowercase hex' : `${bytes * 2} lowercase hex characters`;
    throw new ProtocolError('BAD_ENCODING', `${what}: expected ${expected}, got ${JSON.stringify(text.slice(0, 80))}`);
  }
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/**
 * Decodes standard or URL-safe base64 (DSSE allows both), padded or not. Node's decoder skips
 * characters it does not know (and stops at a "=" inside), so ASCII text is refused unless the
 * decoder read all of it: n characters before the padding (n % 4 != 1, at most two "=") decode
 * to exactly floor(3n / 4) bytes, and every character skipped would make fewer. Text beyond
 * ASCII is refused first (the decoder would read a character above 0xff by its low byte). A
 * typo is an error, not data, and no regular expression pass over the text is needed to tell.
 */
export function fromBase64(text: string, what: string): Uint8Array {
  let unpadded = text.length;
  while (unpadded > 0 && text.charCodeAt(unpadded - 1) === EQUALS) unpadded--;
  const ascii = Buffer.byteLength(text, 'utf8') === text.length;
  const buffer = !ascii || unpadded % 4 === 1 || text.length - unpadded > 2 ? undefined : Buffer.from(text, 'base64');
  if (buffer === undefined || buffer.byteLength !== Math.floor((unpadded * 3) / 4)) {
    throw new ProtocolError('BAD_ENCODING', `${what}: expected standard or URL-safe base64, got ${JSON.stringify(text.slice(0, 80))}`);
  }
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

export function toBase64(bytes: Uint8Array): string {
  return asBuffer(bytes).toString('base64');
}

/**
 * Canonical JSON: object keys sorted by UTF-16 code units (JavaScript's default sort), no
 * spaces, arrays in order. Used for input digests (DESIGN section 2) and canonical configs.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    if (text === undefined) throw new ProtocolError('BAD_ENCODING', `canonical JSON: cannot encode ${typeof value}`);
    return text;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * Deeper than any file documented with comments nests (a config is 4 levels deep): below it,
 * values are left as they are, so that a hostile file nested thousands deep cannot overflow
 * the stack here; its schema refuses it instead.
 */
const COMMENT_DEPTH = 32;

/** Drops keys starting with "//", at every depth up to COMMENT_DEPTH: JSON has no comments, so config files document fields so. */
export function withoutComments(json: unknown, depth = 0): unknown {
  if (depth >= COMMENT_DEPTH) return json;
  if (Array.isArray(json)) return json.map((v) => withoutComments(v, depth + 1));
  if (json === null || typeof json !== 'object') return json;
  return Object.fromEntries(Object.entries(json).filter(([k]) => !k.startsWith('//')).map(([k, v]) => [k, withoutComments(v, depth + 1)]));
}
