/**
 * The node's config file (daemon/config.ts parseConfigText: JSON, "//" comment keys, zod).
 * Inputs: config.example.json and small valid configs, edited as values (fields dropped,
 * retyped, renamed, duplicated) and as bytes, plus JSON nested thousands deep at the root and
 * inside a field. An accepted config passes its own schema again and has absolute paths.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import fc from 'fast-check';
import { configSchema, parseConfigText, type Config } from '../../../daemon/config.ts';
import { deepJsonText, mutatedJson, mutatedText, type FuzzTarget } from '../harness.ts';

const FILE = '/etc/stagex-node/config.json';
const KEY = 'ab'.repeat(32);

const example = readFileSync(new URL('../../../config.example.json', import.meta.url), 'utf8');
const samples: unknown[] = [
  JSON.parse(example),
  { name: 'a', networkId: 'n', signingKey: 'k.pem', trust: { threshold: 1, keys: [{ name: 'a', publicKey: KEY }] } },
  { name: 'b', networkId: 'n', signer: { command: ['sign', '--card'], publicKey: KEY, timeoutSeconds: 30 }, trust: { threshold: 2, keys: [{ name: 'a', publicKey: KEY }, { name: 'm', openpgp: [{ fingerprint: 'AB'.repeat(20), certificate: 'm.pgp' }] }], revoked: ['cd'.repeat(32)] }, builder: { assign: 'auto', platforms: ['linux/amd64'] }, api: { listen: '/run/s/api.sock' } },
];

export const configTarget: FuzzTarget<string> = {
  name: 'config',
  arbitrary: fc.oneof(
    mutatedJson(samples),
    mutatedText([example, JSON.stringify(samples[1]), JSON.stringify(samples[2])]),
    deepJsonText,
    deepJsonText.map((deep) => `{"name":"a","networkId":"n","signingKey":"k","trust":${deep}}`),
  ),
  decode: (text) => parseConfigText(text, FILE),
  codes: ['BAD_CONFIG'],
  where: FILE,
  check(value) {
    const { file, dir, ...config } = value as Config;
    assert.equal(file, FILE);
    assert.equal(dir, '/etc/stagex-node');
    configSchema.parse(config);
    for (const path of [config.store, config.builder.tree, config.builder.cache, config.builder.outputs, config.network.identityKey]) assert.ok(isAbsolute(path), path);
  },
};
