/** Seed-fixed fuzzing of StageX signature files (test/fuzz/targets/stagex-signature.ts). */
import { test } from 'node:test';
import { fuzzSlice } from './harness.ts';
import { stagexSignatureTarget } from './targets/stagex-signature.ts';

test('parseSignaturePath, checkSignatureFile and parsePayload: every file is a vote, an unknown signer or a clear error', () => fuzzSlice(stagexSignatureTarget, 300));
