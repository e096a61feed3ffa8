/** Seed-fixed fuzzing of the Containerfile scan (test/fuzz/targets/containerfile.ts), and the inputs it found. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseContainerfile } from '../../protocol/tree/containerfile.ts';
import { fuzzSlice } from './harness.ts';
import { containerfileTarget } from './targets/containerfile.ts';

test('parseContainerfile: every text gives a well-formed ContainerfileInfo, never an exception', () => fuzzSlice(containerfileTarget, 1000));

test('regression: a lone `\\` line (the text "\\\\\\n") is no instruction, and one before FROM joins it', () => {
  assert.deepEqual(parseContainerfile('\\\n').stages, []);
  assert.deepEqual(parseContainerfile('\\\nFROM stagex/core-busybox AS build\n').dependencies, ['core-busybox']);
});

test('regression: 100,000 continuation lines (`RUN a \\` repeated, 800 KB) scan in linear time, not quadratic (it took minutes)', () => {
  const start = performance.now();
  const info = parseContainerfile('FROM stagex/core-busybox\n' + 'RUN a \\\n'.repeat(100_000));
  assert.equal(info.engineDependent.length, 1);
  assert.ok(performance.now() - start < 10_000, `took ${performance.now() - start} ms`);
});
