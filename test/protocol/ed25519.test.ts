import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import * as ed from '@noble/ed25519';
import { checkPublicKey, createVerifier, verifyReference } from '../../protocol/ed25519.ts';
import { createSeedSigner, publicKeyFromSeed } from '../../protocol/keys.ts';
import { fromHex, toHex } from '../../protocol/encoding.ts';

/** One published vector with its expected outcome under the pinned rule (DESIGN section 4). */
interface Case {
  name: string;
  publicKey: string;
  message: string;
  signature: string;
  keyAccepted: boolean;
  valid: boolean;
  seed?: string;
}
interface VectorFile { source: { repo: string; path: string }; cases: Case[] }
interface Zip215File {
  source: { repo: string; path: string };
  message: string;
  s: string;
  encodings: { hex: string }[];
  expected: { keyAccepted: boolean; valid: boolean };
}

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const read = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8')) as T;
const hex = (text: string) => fromHex(text, 'vector');

/** The ZIP 215 file keeps its 14 encodings; its 196 cases are every (A, R) pair, S = 0. */
function zip215Cases(file: Zip215File): Case[] {
  return file.encodings.flatMap((a, i) => file.encodings.map((r, j) => ({
    name: `zip215 A#${i} R#${j}`,
    publicKey: a.hex,
    message: file.message,
    signature: r.hex + file.s,
    ...file.expected,
  })));
}

const zip215 = read<Zip215File>('ed25519-zip215.json');
const files: [string, Case[]][] = [
  ['RFC 8032 section 7.1', read<VectorFile>('ed25519-rfc8032.json').cases],
  ['Taming the many EdDSAs', read<VectorFile>('ed25519-taming.json').cases],
  ['Wycheproof', read<VectorFile>('ed25519-wycheproof.json').cases],
  ['ZIP 215', zip215Cases(zip215)],
];

/** The fast path as a node uses it: a refused key never gets a verifier. */
function fast(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  let verifier;
  try {
    verifier = createVerifier(publicKey);
  } catch (error) {
    assert.equal((error as { code?: string }).code, 'BAD_KEY');
    return false;
  }
  return verifier(message, signature);
}

function littleEndian(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

function withScalar(signature: Uint8Array, s: bigint): Uint8Array {
  const out = Uint8Array.from(signature);
  for (let i = 32; i < 64; i++, s >>= 8n) out[i] = Number(s & 0xffn);
  return out;
}

/**
 * A signature the key holder can make with R = identity: S = k * a, so [S]B - [k]A is the
 * identity, so the equation holds; the rule refuses R = identity (Node 24's verify refuses it,
 * Node 20's accepts it: a byte check keeps every node alike).
 */
function identityRSignature(seed: Uint8Array, message: Uint8Array): Uint8Array {
  const { scalar, pointBytes } = ed.utils.getExtendedPublicKey(seed);
  const R = new Uint8Array(32);
  R[0] = 1;
  const k = littleEndian(createHash('sha512').update(R).update(pointBytes).update(message).digest()) % L;
  const signature = new Uint8Array(64);
  signature.set(R);
  return withScalar(signature, (k * scalar) % L);
}

describe('pinned ed25519 rule on published vectors', () => {
  it('has the vector sets it claims: RFC 8032 (5), Taming (12), Wycheproof subset (81), ZIP 215 (196)', () => {
    assert.deepEqual(files.map(([, cases]) => cases.length), [5, 12, 81, 196]);
  });
  for (const [set, cases] of files) {
    describe(set, () => {
      for (const c of cases) {
        it(`${c.name}: key ${c.keyAccepted ? 'accepted' : 'refused'}, ${c.valid ? 'valid' : 'invalid'} on both paths`, () => {
          const [publicKey, message, signature] = [hex(c.publicKey), hex(c.message), hex(c.signature)];
          if (c.keyAccepted) checkPublicKey(publicKey, c.name);
          else assert.throws(() => checkPublicKey(publicKey, c.name), { code: 'BAD_KEY' });
          assert.equal(verifyReference(publicKey, message, signature), c.valid, 'reference');
          assert.equal(fast(publicKey, message, signature), c.valid, 'fast path');
        });
      }
    });
  }
  it('noble signing reproduces every RFC 8032 key and signature', () => {
    for (const c of files[0]![1]) {
      assert.equal(toHex(publicKeyFromSeed(hex(c.seed!))), c.publicKey, c.name);
      assert.equal(toHex(createSeedSigner(hex(c.seed!)).signNow(hex(c.message))), c.signature, c.name);
    }
  });
});

describe('checkPublicKey', () => {
  const taming = files[1]![1];
  for (const [what, key] of [
    ['31 bytes', new Uint8Array(31)],
    ['33 bytes', new Uint8Array(33)],
    ['a non-canonical encoding (Taming 10)', hex(taming[10]!.publicKey)],
    ['32 bytes that are no curve point (Wycheproof tcId 20 R)', hex('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010')],
    ['a point of small order (Taming 0)', hex(taming[0]!.publicKey)],
    ['a point with a torsion component (Taming 3)', hex(taming[3]!.publicKey)],
  ] as const) {
    it(`refuses ${what} with BAD_KEY, and createVerifier refuses it too`, () => {
      assert.throws(() => checkPublicKey(key, 'test'), { code: 'BAD_KEY' });
      assert.throws(() => createVerifier(key), { code: 'BAD_KEY' });
      assert.equal(verifyReference(key, new Uint8Array(0), new Uint8Array(64)), false);
    });
  }
  it('accepts honest keys', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
      checkPublicKey(publicKeyFromSeed(seed), 'random key');
    }), { numRuns: 20 });
  });
});

describe('fast path and reference agree', () => {
  const seed = new Uint8Array(32).fill(9);
  const signer = createSeedSigner(seed);
  const message = new TextEncoder().encode('identity R');

  describe('when R is the identity (the one small-order R the equation can meet)', () => {
    it('refuse even the key holder\'s S = k * a, on both paths', () => {
      const signature = identityRSignature(seed, message);
      assert.equal(ed.verify(signature, message, signer.publicKey), true, 'the equation holds (noble, ZIP 215)');
      assert.equal(verifyReference(signer.publicKey, message, signature), false);
      assert.equal(createVerifier(signer.publicKey)(message, signature), false);
    });
    it('refuse it for another message or another S', () => {
      const signature = identityRSignature(seed, message);
      const other = new TextEncoder().encode('identity r');
      const bumped = withScalar(signature, (littleEndian(signature.subarray(32)) + 1n) % L);
      for (const [m, s] of [[other, signature], [message, bumped]] as const) {
        assert.equal(verifyReference(signer.publicKey, m, s), false);
        assert.equal(createVerifier(signer.publicKey)(m, s), false);
      }
    });
  });

  it('when S is near L: S < L decides on both paths, byte-wise and as a number', () => {
    const signature = signer.signNow(message);
    const S = littleEndian(signature.subarray(32));
    const verifier = createVerifier(signer.publicKey);
    for (const s of [S + L, S + 2n * L, L - 1n, L, L + 1n, 2n ** 253n - 1n, 2n ** 256n - 1n]) {
      const changed = withScalar(signature, s);
      assert.equal(verifyReference(signer.publicKey, message, changed), false, `S = ${s}`);
      assert.equal(verifier(message, changed), false, `S = ${s}`);
    }
  });

  it('when the signature is not 64 bytes, both say false', () => {
    const signature = signer.signNow(message);
    const verifier = createVerifier(signer.publicKey);
    for (const wrong of [new Uint8Array(0), signature.subarray(0, 63), Uint8Array.of(...signature, 0)]) {
      assert.equal(verifyReference(signer.publicKey, message, wrong), false);
      assert.equal(verifier(message, wrong), false);
    }
  });

  it('on random keys and messages, honest, tampered, S + L and identity-R signatures', () => {
    const tamper = fc.oneof(
      fc.constant({ kind: 'none' as const }),
      fc.record({ kind: fc.constant('bit' as const), bit: fc.nat(511) }),
      fc.record({ kind: fc.constant('message' as const), at: fc.nat() }),
      fc.constant({ kind: 'plusL' as const }),
      fc.constant({ kind: 'identityR' as const }),
      fc.constant({ kind: 'identityRWrongS' as const }),
    );
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 1, maxLength: 300 }),
      tamper,
      (keySeed, original, t) => {
        const s = createSeedSigner(keySeed);
        let msg = original;
        let signature = s.signNow(original);
        let expected = true;
        if (t.kind === 'bit') {
          signature[t.bit >> 3]! ^= 1 << (t.bit & 7);
          expected = false;
        } else if (t.kind === 'message') {
          msg = Uint8Array.from(original);
          msg[t.at % msg.length]! ^= 1;
          expected = false;
        } else if (t.kind === 'plusL') {
          signature = withScalar(signature, littleEndian(signature.subarray(32)) + L);
          expected = false;
        } else if (t.kind === 'identityR') {
          signature = identityRSignature(keySeed, msg);
          expected = false;
        } else if (t.kind === 'identityRWrongS') {
          signature = identityRSignature(keySeed, msg);
          signature = withScalar(signature, (littleEndian(signature.subarray(32)) + 1n) % L);
          expected = false;
        }
        assert.equal(verifyReference(s.publicKey, msg, signature), expected, 'reference');
        assert.equal(createVerifier(s.publicKey)(msg, signature), expected, 'fast path');
      },
    ), { numRuns: 150 });
  });

  it('a verifier keeps its own copy of the key', () => {
    const key = Uint8Array.from(signer.publicKey);
    const verifier = createVerifier(key);
    key.fill(0);
    assert.equal(verifier(message, signer.signNow(message)), true);
  });
});
