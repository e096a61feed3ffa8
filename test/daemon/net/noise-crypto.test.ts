import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Uint8ArrayList } from 'uint8arraylist';
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto';
import { contiguousNoiseCrypto } from '../../../daemon/net/noise-crypto.ts';

/** A frame as yamux hands it to noise: a 12-byte header, a length prefix and a message, in pieces. */
const frame = (bytes: number) => new Uint8ArrayList(randomBytes(12), randomBytes(2), randomBytes(bytes));
const key = randomBytes(32);
const nonce = randomBytes(12);
const ad = new Uint8Array(0);
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);

describe('contiguousNoiseCrypto', () => {
  for (const bytes of [100, 1_500, 60_000]) {
    it(`seals a frame of ${bytes} bytes in pieces into one buffer, the same bytes noise's default seals (peers interoperate)`, () => {
      const plaintext = frame(bytes);
      const sealed = contiguousNoiseCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, key);
      assert.ok(sealed instanceof Uint8Array, 'one buffer: one socket write');
      assert.ok(same(sealed, defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, key).subarray()));
      assert.ok(same(defaultCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, key).subarray(), plaintext.subarray()));
    });
  }

  it("is needed: noise's default seals a frame of 1,200 bytes or more in pieces into a list of buffers", () => {
    const sealed = defaultCrypto.chaCha20Poly1305Encrypt(frame(1_500), nonce, ad, key);
    assert.ok(sealed instanceof Uint8ArrayList && [...sealed].length > 1);
  });
});
