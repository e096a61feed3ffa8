import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../daemon/config.ts';
import { compileTrust } from '../../protocol/trust.ts';
import { fromHex } from '../../protocol/encoding.ts';

const examplePath = fileURLToPath(new URL('../../config.example.json', import.meta.url));
const example = JSON.parse(readFileSync(examplePath, 'utf8'));

function problems(json: unknown): string {
  try {
    parseConfig(json, '/etc/stagex/config.json');
  } catch (error) {
    assert.equal((error as { code?: string }).code, 'BAD_CONFIG');
    return (error as Error).message;
  }
  assert.fail('expected BAD_CONFIG');
}

describe('parseConfig', () => {
  it('accepts config.example.json, whose keys are valid and whose paths resolve beside the file', () => {
    const config = parseConfig(example, '/etc/stagex/config.json');
    assert.equal(config.signingKey, '/etc/stagex/signing-key.pem');
    assert.equal(config.store, '/etc/stagex/store');
    assert.equal(config.builder.tree, '/etc/stagex');
    const policy = compileTrust({ threshold: config.trust.threshold, keys: config.trust.keys.filter((k) => k.publicKey !== undefined).map((k) => ({ name: k.name, publicKey: fromHex(k.publicKey!, k.name, 32) })) });
    assert.equal(policy.voters.size, 3);
  });
  it('documents every field of the schema', () => {
    const text = readFileSync(examplePath, 'utf8');
    for (const field of ['name', 'networkId', 'signingKey', 'signer', 'signer.command', 'signer.offline', 'signer.publicKey', 'signer.timeoutSeconds', 'threshold', 'keys', 'publicKey', 'openpgp', 'fingerprint', 'certificate', 'revoked', 'store', 'storeSync', 'listen', 'bootstrap', 'identityKey', 'engine', 'socket', 'tree', 'assign', 'replicas', 'cache', 'outputs']) {
      assert.match(text, new RegExp(`"//${field}"`), `config.example.json has no "//${field}" comment`);
    }
  });
  it('fills defaults for the optional sections', () => {
    const { network, builder, api, ...minimal } = example;
    const config = parseConfig(minimal, '/x/config.json');
    assert.deepEqual(config.network.listen, ['/ip4/127.0.0.1/tcp/0']);
    assert.equal(config.api.listen, '127.0.0.1:7780');
    assert.deepEqual(config.builder.assign, []);
  });
  it('names the field path, the bad value and what was expected', () => {
    const message = problems({ ...example, trust: { ...example.trust, keys: [{ name: 'x', publicKey: 'ABC' }] } });
    assert.match(message, /trust\.keys\.0\.publicKey: expected 64 lowercase hex characters, got "ABC"/);
  });
  it('reports every problem at once', () => {
    const message = problems({ ...example, name: '', networkId: 'Has Spaces', api: { listen: '10.0.0.1:80' } });
    assert.match(message, /3 problem\(s\)/);
    assert.match(message, /api\.listen: expected a loopback/);
  });
  it('resolves OpenPGP certificate paths beside the file', () => {
    const config = parseConfig(example, '/etc/stagex/config.json');
    assert.deepEqual(config.trust.keys.find((k) => k.name === 'lance')!.openpgp, [{ fingerprint: '6B61ECD76088748C70590D55E90A401336C8AAA9', certificate: '/etc/stagex/keys/lance.asc' }]);
  });
  it('refuses a signer with neither publicKey nor openpgp keys, and two signers of one name', () => {
    assert.match(problems({ ...example, trust: { ...example.trust, keys: [...example.trust.keys, { name: 'nobody' }] } }), /trust\.keys\.4: expected publicKey, openpgp or both/);
    assert.match(problems({ ...example, trust: { ...example.trust, keys: [...example.trust.keys, { name: 'alice', openpgp: [{ fingerprint: 'ab'.repeat(20), certificate: 'x.asc' }] }] } }), /trust\.keys: expected distinct signer names/);
  });
  it('refuses a fingerprint that is not 40 hex characters, and accepts one in revoked', () => {
    assert.match(problems({ ...example, trust: { ...example.trust, keys: [{ name: 'x', openpgp: [{ fingerprint: 'E90A401336C8AAA9', certificate: 'x.asc' }] }] } }), /trust\.keys\.0\.openpgp\.0\.fingerprint: expected an OpenPGP v4 primary key fingerprint/);
    assert.deepEqual(parseConfig({ ...example, trust: { ...example.trust, revoked: ['6B61ECD76088748C70590D55E90A401336C8AAA9'] } }, '/x/config.json').trust.revoked, ['6B61ECD76088748C70590D55E90A401336C8AAA9']);
  });
  it('refuses unknown fields, so a typo is not silently ignored', () => {
    assert.match(problems({ ...example, thresold: 2 }), /Unrecognized key.*thresold/);
  });
  it('refuses a non-loopback API address', () => {
    assert.match(problems({ ...example, api: { listen: '0.0.0.0:7780' } }), /api\.listen/);
  });

  describe('signer', () => {
    const { signingKey, ...keyless } = example;
    const publicKey = example.trust.keys[0].publicKey;
    const codeOf = (json: unknown) => {
      try {
        parseConfig(json, '/etc/stagex/config.json');
      } catch (error) {
        return (error as { code?: string }).code;
      }
      return undefined;
    };
    it('takes a signing command, its program resolved beside the config when it has a slash', () => {
      const config = parseConfig({ ...keyless, signer: { command: ['bin/card-sign', '--slot', '9c'], publicKey, timeoutSeconds: 120 } }, '/etc/stagex/config.json');
      assert.deepEqual(config.signer?.command, ['/etc/stagex/bin/card-sign', '--slot', '9c']);
      assert.equal(config.signer?.timeoutSeconds, 120);
      assert.equal(config.signingKey, undefined);
      assert.deepEqual(parseConfig({ ...keyless, signer: { command: ['gpg-sign'], publicKey } }, '/x/config.json').signer?.command, ['gpg-sign']);
    });
    it('takes an offline signer', () => {
      assert.equal(parseConfig({ ...keyless, signer: { offline: true, publicKey } }, '/x/config.json').signer?.offline, true);
    });
    for (const [what, json] of [
      ['neither signingKey nor signer', keyless],
      ['both signingKey and signer', { ...example, signer: { offline: true, publicKey } }],
      ['a signer with both command and offline', { ...keyless, signer: { command: ['x'], offline: true, publicKey } }],
      ['a signer with neither command nor offline', { ...keyless, signer: { publicKey } }],
      ['an empty command', { ...keyless, signer: { command: [], publicKey } }],
      ['offline: false', { ...keyless, signer: { offline: false, publicKey } }],
      ['a timeout with offline', { ...keyless, signer: { offline: true, publicKey, timeoutSeconds: 5 } }],
      ['a zero timeout', { ...keyless, signer: { command: ['x'], publicKey, timeoutSeconds: 0 } }],
      ['a public key that is not 64 hex', { ...keyless, signer: { offline: true, publicKey: 'ABC' } }],
      ['an unknown signer field', { ...keyless, signer: { offline: true, publicKey, pin: '1234' } }],
    ] as const) {
      it(`refuses ${what} (BAD_CONFIG)`, () => {
        assert.equal(codeOf(json), 'BAD_CONFIG');
      });
    }
  });
});
