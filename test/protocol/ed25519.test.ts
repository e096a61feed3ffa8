import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { checkPublicKey, createVerifier, verifyReference } from '../../protocol/ed25519.ts';
import { createSeedSigner, publicKeyFromSeed } from '../../protocol/keys.ts';

interface Case { name: string; seed?: string; message: string; publicKey: string; signature: string; keyAccepted: boolean; valid: boolean }
const { cases } = JSON.parse(readFileSync(new URL('../vectors/ed25519-edge-cases.json', import.meta.url), 'utf8')) as { cases: Case[] };
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

/** The fast path as a node uses it: the key is checked when it is trusted. */
function fast(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return createVerifier(publicKey)(message, signature);
  } catch (error) {
    assert.equal((error as { code?: string }).code, 'BAD_KEY');
    return false;
  }
}

describe('pinned ed25519 rule', () => {
  for (const c of cases) {
    describe(c.name, () => {
      it(`key ${c.keyAccepted ? 'accepted' : 'refused'}`, () => {
        if (c.keyAccepted) checkPublicKey(hex(c.publicKey), c.name);
        else assert.throws(() => checkPublicKey(hex(c.publicKey), c.name), { code: 'BAD_KEY' });
      });
      it(`reference and fast path both say ${c.valid ? 'valid' : 'invalid'}`, () => {
        assert.equal(verifyReference(hex(c.publicKey), hex(c.message), hex(c.signature)), c.valid);
        assert.equal(fast(hex(c.publicKey), hex(c.message), hex(c.signature)), c.valid);
      });
      if (c.seed) {
        it('noble signing reproduces the RFC 8032 key and signature', () => {
          assert.equal(Buffer.from(publicKeyFromSeed(hex(c.seed!))).toString('hex'), c.publicKey);
          assert.equal(Buffer.from(createSeedSigner(hex(c.seed!)).sign(hex(c.message))).toString('hex'), c.signature);
        });
      }
    });
  }

  it('rejects S + L (the same signature with a non-canonical scalar) on both paths', () => {
    const c = cases.find((x) => x.name === 'rfc8032-test1')!;
    const sig = hex(c.signature);
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
    s += 2n ** 252n + 27742317777372353535851937790883648493n;
    for (let i = 32; i < 64; i++) { sig[i] = Number(s & 0xffn); s >>= 8n; }
    assert.equal(verifyReference(hex(c.publicKey), hex(c.message), sig), false);
    assert.equal(fast(hex(c.publicKey), hex(c.message), sig), false);
  });

  it('agrees with the reference on random keys, messages and tampered signatures', () => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ maxLength: 300 }),
      fc.nat(63), fc.integer({ min: 0, max: 255 }), fc.boolean(),
      (seed, message, at, xor, tamper) => {
        const signer = createSeedSigner(seed);
        const signature = signer.sign(message);
        if (tamper) signature[at] = signature[at]! ^ (xor || 1);
        const expected = !tamper;
        assert.equal(verifyReference(signer.publicKey, message, signature), expected);
        assert.equal(createVerifier(signer.publicKey)(message, signature), expected);
      },
    ), { numRuns: 60 });
  });

  it('refuses keys of the wrong length and signatures of the wrong length', () => {
    assert.throws(() => checkPublicKey(new Uint8Array(31), 'x'), { code: 'BAD_KEY' });
    const signer = createSeedSigner(new Uint8Array(32).fill(7));
    assert.equal(createVerifier(signer.publicKey)(new Uint8Array(1), new Uint8Array(63)), false);
  });
});
