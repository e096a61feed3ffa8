import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSeedSigner, decodePrivateKeyPem, encodePrivateKeyPem, generateSeed, keyidOf } from '../../protocol/keys.ts';
import { sha256Hex } from '../../protocol/encoding.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('keys', () => {
  it('keyid is the hex sha256 of the raw public key', () => {
    const signer = createSeedSigner(generateSeed());
    assert.equal(signer.keyid, sha256Hex(signer.publicKey));
    assert.equal(keyidOf(signer.publicKey), signer.keyid);
    assert.match(signer.keyid, /^[0-9a-f]{64}$/);
  });
  it('PKCS#8 PEM round-trips the seed', () => {
    const seed = generateSeed();
    assert.deepEqual(decodePrivateKeyPem(encodePrivateKeyPem(seed), 'test'), seed);
  });
  it('writes PEM that OpenSSL reads as the same Ed25519 key', { skip: hasOpenssl() ? false : 'openssl not installed' }, () => {
    const seed = generateSeed();
    const file = join(tempDir(), 'key.pem');
    writeFileSync(file, encodePrivateKeyPem(seed));
    const der = execFileSync('openssl', ['pkey', '-in', file, '-pubout', '-outform', 'DER']);
    assert.deepEqual(new Uint8Array(der.subarray(-32)), createSeedSigner(seed).publicKey);
  });
  for (const [name, text] of [
    ['an RSA key', '-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----\n'],
    ['a truncated key', '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n'],
    ['text that is no PEM', 'hello'],
  ] as const) {
    it(`refuses ${name} with BAD_KEY`, () => {
      assert.throws(() => decodePrivateKeyPem(text, 'key.pem'), { code: 'BAD_KEY' });
    });
  }
});

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version']);
    return true;
  } catch {
    return false;
  }
}
