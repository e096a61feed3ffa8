/** Seed-fixed fuzzing of the envelope file decoder (test/fuzz/targets/envelope.ts). */
import { test } from 'node:test';
import { fuzzSlice } from './harness.ts';
import { envelopeFileTarget } from './targets/envelope.ts';

test('readAttestation on an envelope file: every input is a canonical attestation or a clear ProtocolError', () => fuzzSlice(envelopeFileTarget, 1000));
