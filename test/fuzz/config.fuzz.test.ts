/** Seed-fixed fuzzing of the config file (test/fuzz/targets/config.ts), and the inputs it found. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../../daemon/config.ts';
import { DaemonError } from '../../daemon/errors.ts';
import { fuzzSlice, nested } from './harness.ts';
import { configTarget } from './targets/config.ts';

test('parseConfigText: every text is a valid config or a clear BAD_CONFIG', () => fuzzSlice(configTarget, 1000));

for (const [name, text] of [
  ['a config nested 20,000 arrays deep ("[[[...]]]")', JSON.stringify(nested(5)).replace('[]', '['.repeat(20_000) + ']'.repeat(20_000))],
  ['a field nested 20,000 objects deep ({"name":{"a":{"a":...}}})', `{"name":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}`],
] as const) {
  test(`regression: ${name} is BAD_CONFIG, not a stack overflow (RangeError)`, () => {
    assert.throws(() => parseConfigText(text, '/c.json'), (error) => error instanceof DaemonError && error.code === 'BAD_CONFIG');
  });
}
