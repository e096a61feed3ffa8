import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createVerifier } from '../../protocol/ed25519.ts';
import { sha256Hex } from '../../protocol/encoding.ts';
import {
  createSeedSigner, decodePrivateKeyPem, encodePrivateKeyPem, generateSeed, keyidOf, publicKeyFromSeed,
} from '../../protocol/keys.ts';

const openssl = (args: string[], input?: string): Buffer => execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'ignore'] });
const noOpenssl = (() => {
  try {
    openssl(['version']);
    return false;
  } catch {
    return 'openssl is not installed';
  }
})();

describe('keys', () => {
  it('generateSeed gives 32 fresh random bytes each time', () => {
    const [a, b] = [generateSeed(), generateSeed()];
    assert.equal(a.length, 32);
    assert.notDeepEqual(a, b);
  });

  it('keyid is the lowercase hex sha256 of the raw public key', () => {
    const signer = createSeedSigner(generateSeed());
    assert.equal(signer.keyid, sha256Hex(signer.publicKey));
    assert.equal(keyidOf(signer.publicKey), signer.keyid);
    assert.match(signer.keyid, /^[0-9a-f]{64}$/);
  });

  it('a seed signer signs what the pinned verifier accepts, and only that', () => {
    const seed = generateSeed();
    const signer = createSeedSigner(seed);
    assert.deepEqual(signer.publicKey, publicKeyFromSeed(seed));
    const message = new TextEncoder().encode('DSSEv1 28 application/vnd.in-toto+json 2 {}');
    const verify = createVerifier(signer.publicKey);
    assert.equal(verify(message, signer.signNow(message)), true);
    assert.equal(verify(message.subarray(1), signer.signNow(message)), false);
  });

  it('a seed signer\'s asynchronous sign gives what signNow gives', async () => {
    const signer = createSeedSigner(generateSeed());
    const message = new Uint8Array([1, 2, 3]);
    assert.deepEqual(await signer.sign(message), signer.signNow(message));
  });
  it('a seed signer keeps its own copy of the seed', () => {
    const seed = generateSeed();
    const signer = createSeedSigner(seed);
    const message = Uint8Array.of(1, 2, 3);
    const before = signer.signNow(message);
    seed.fill(0);
    assert.deepEqual(signer.signNow(message), before);
  });

  for (const length of [0, 31, 33, 64]) {
    it(`refuses a ${length}-byte seed with BAD_KEY`, () => {
      const seed = new Uint8Array(length);
      assert.throws(() => createSeedSigner(seed), { code: 'BAD_KEY' });
      assert.throws(() => publicKeyFromSeed(seed), { code: 'BAD_KEY' });
      assert.throws(() => encodePrivateKeyPem(seed), { code: 'BAD_KEY' });
    });
  }
});

describe('PKCS#8 PEM private keys (RFC 8410)', () => {
  it('round-trips the seed, with LF or CRLF line ends', () => {
    const seed = generateSeed();
    const pem = encodePrivateKeyPem(seed);
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/]{64}\n-----END PRIVATE KEY-----\n$/);
    assert.deepEqual(decodePrivateKeyPem(pem, 'key.pem'), seed);
    assert.deepEqual(decodePrivateKeyPem(pem.replace(/\n/g, '\r\n'), 'key.pem'), seed);
  });

  it('writes keys OpenSSL reads as the same Ed25519 key', { skip: noOpenssl }, () => {
    const seed = generateSeed();
    const der = openssl(['pkey', '-pubout', '-outform', 'DER'], encodePrivateKeyPem(seed));
    assert.deepEqual(new Uint8Array(der.subarray(-32)), publicKeyFromSeed(seed));
  });

  it('reads keys made by `openssl genpkey -algorithm ed25519`', { skip: noOpenssl }, () => {
    const pem = openssl(['genpkey', '-algorithm', 'ed25519']).toString('utf8');
    const der = openssl(['pkey', '-pubout', '-outform', 'DER'], pem);
    assert.deepEqual(publicKeyFromSeed(decodePrivateKeyPem(pem, 'openssl.pem')), new Uint8Array(der.subarray(-32)));
  });

  it('refuses an Ed448 key made by OpenSSL with BAD_KEY', { skip: noOpenssl }, () => {
    const pem = openssl(['genpkey', '-algorithm', 'ed448']).toString('utf8');
    assert.throws(() => decodePrivateKeyPem(pem, 'ed448.pem'), { code: 'BAD_KEY' });
  });

  for (const [name, text] of [
    ['an RSA key', '-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----\n'],
    ['a truncated key', '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n'],
    ['an encrypted key', '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END ENCRYPTED PRIVATE KEY-----\n'],
    ['a public key', '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAfU0Of2FTpptiQrUiq77mhf2kQg+INLEIw72uNp71Sfo=\n-----END PUBLIC KEY-----\n'],
    ['text that is no PEM', 'hello'],
    ['an empty file', ''],
  ] as const) {
    it(`refuses ${name} with BAD_KEY`, () => {
      assert.throws(() => decodePrivateKeyPem(text, 'key.pem'), { code: 'BAD_KEY' });
    });
  }
});
