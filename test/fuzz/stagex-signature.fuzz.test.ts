/** Seed-fixed fuzzing of StageX signature files (test/fuzz/targets/stagex-signature.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { buildPayload, parsePayload } from '../../protocol/stagex-signature.ts';
import { fuzzSlice, SLICE_SEED } from './harness.ts';
import { stagexSignatureTarget } from './targets/stagex-signature.ts';

test('parseSignaturePath, checkSignatureFile and parsePayload: every file is a vote, an unknown signer or a clear error', () => fuzzSlice(stagexSignatureTarget, 300));

test('parsePayload reads back what buildPayload writes, for any image name and digest', () => {
  fc.assert(fc.property(fc.constantFrom('bootstrap', 'core', 'pallet', 'user'), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,40}$/), fc.stringMatching(/^[0-9a-f]{64}$/), (stage, name, digest) => {
    assert.deepEqual(parsePayload(buildPayload(`${stage}-${name}`, digest), 'p'), { image: `${stage}-${name}`, digest, legacy: false });
  }), { seed: SLICE_SEED, numRuns: 300 });
});
