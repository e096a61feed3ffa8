/** Seed-fixed fuzzing of sync frames (test/fuzz/targets/sync-frame.ts). */
import { test } from 'node:test';
import { fuzzSlice } from './harness.ts';
import { syncFrameTarget } from './targets/sync-frame.ts';

test('decodeFrame: every input decodes to a frame that encodes back to it, or is BAD_FRAME', () => fuzzSlice(syncFrameTarget, 1000));
