import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CONFIG_SCHEMA_FILE, configJsonSchema, configJsonSchemaText } from '../../daemon/config-json-schema.ts';
import { parseConfig } from '../../daemon/config.ts';

const root = new URL('../../', import.meta.url);
const example = JSON.parse(readFileSync(new URL('config.example.json', root), 'utf8')) as Record<string, unknown>;

type Schema = { type?: string; properties?: Record<string, Schema>; items?: Schema; anyOf?: Schema[]; additionalProperties?: unknown; required?: string[] };

/** The keys of `value` (an example config) that `schema` does not name, as dotted paths; `//` comments skipped. */
function unknownKeys(value: unknown, schema: Schema, path: string): string[] {
  if (Array.isArray(value)) return schema.items ? value.flatMap((v, i) => unknownKeys(v, schema.items!, `${path}.${i}`)) : [];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, v]) => {
    if (key.startsWith('//')) return [];
    const field = schema.properties?.[key];
    return field ? unknownKeys(v, field, path ? `${path}.${key}` : key) : [path ? `${path}.${key}` : key];
  });
}

describe('config.schema.json', () => {
  it('is what `npm run schema` generates from the config\'s zod schema', () => {
    const committed = readFileSync(new URL(CONFIG_SCHEMA_FILE, root), 'utf8');
    assert.ok(committed === configJsonSchemaText(), `${CONFIG_SCHEMA_FILE} differs from the zod schema in daemon/config.ts: run \`npm run schema\` and commit it`);
  });
  it('names every field config.example.json sets, refuses others and allows // comments', () => {
    const schema = configJsonSchema() as Schema & { patternProperties?: Record<string, unknown> };
    assert.deepEqual(unknownKeys(example, schema, ''), []);
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(Object.keys(schema.patternProperties ?? {}), ['^//']);
    assert.deepEqual(schema.required?.sort(), ['name', 'networkId', 'trust']);
  });
});

describe('parseConfig and $schema', () => {
  it('accepts the example\'s $schema pointer and ignores its value', () => {
    assert.equal(example.$schema, `./${CONFIG_SCHEMA_FILE}`);
    const config = parseConfig({ ...example, $schema: 'https://example.org/other.json' }, '/etc/stagex/config.json');
    assert.equal(config.name, 'alice');
  });
  it('refuses a $schema that is not a string, naming the field', () => {
    assert.throws(() => parseConfig({ ...example, $schema: 7 }, '/etc/stagex/config.json'), (error: Error & { code?: string }) => error.code === 'BAD_CONFIG' && error.message.includes('$schema'));
  });
});
