/** Seed-fixed fuzzing of what `statements import` reads (test/fuzz/targets/offline-statements.ts). */
import { test } from 'node:test';
import { fuzzSlice } from './harness.ts';
import { offlineSignatureTarget, statementsIndexTarget } from './targets/offline-statements.ts';

test('decodeSignature: every .sig is 64 signature bytes or a clear BAD_ENCODING', () => fuzzSlice(offlineSignatureTarget, 1000));
test('parseIndex: every index.json is an index or a clear BAD_STATEMENTS', () => fuzzSlice(statementsIndexTarget, 500));
