/**
 * An ed25519 signature as signing tools write it: what an external signing command prints and
 * what an offline signer saves beside a `.pae` file (DESIGN section 4). Three forms, told apart
 * by length alone, so no signature can be read two ways:
 * - exactly 64 bytes: the raw signature (`openssl pkeyutl -sign -rawin` writes this);
 * - otherwise, after trimming ASCII whitespace: 128 hex digits (either case), or
 * - standard or URL-safe base64 of 64 bytes (86 characters, or 88 with padding).
 * Whether the signature holds is decided by the caller with the pinned rule (protocol/ed25519.ts).
 */
import { asBuffer, fromBase64 } from './encoding.ts';
import { ProtocolError } from './errors.ts';

export const SIGNATURE_BYTES = 64;
const HEX_SIGNATURE = /^[0-9a-fA-F]{128}$/;
const BASE64_SIGNATURE = /^[A-Za-z0-9+/_-]{86}(==)?$/;

/** The 64 signature bytes of raw, hex or base64 output; anything else is BAD_ENCODING naming `where`. */
export function decodeSignature(output: Uint8Array, where: string): Uint8Array {
  if (output.length === SIGNATURE_BYTES) return Uint8Array.from(output);
  const text = asBuffer(output).toString('latin1').trim();
  if (HEX_SIGNATURE.test(text)) return new Uint8Array(Buffer.from(text, 'hex'));
  if (BASE64_SIGNATURE.test(text)) return fromBase64(text, where);
  const shown = output.length <= 256 && /^[\x20-\x7e\s]*$/.test(text) ? JSON.stringify(text.slice(0, 80)) : `${output.length} bytes`;
  throw new ProtocolError('BAD_ENCODING', `${where}: expected an ed25519 signature (64 raw bytes, 128 hex digits or base64 of 64 bytes), got ${shown}`);
}
