/** Seed-fixed fuzzing of the gossip message decoder (test/fuzz/targets/envelope.ts). */
import { test } from 'node:test';
import { fuzzSlice } from './harness.ts';
import { gossipMessageTarget } from './targets/envelope.ts';

test('readGossipAttestation: every input is a canonical attestation or a clear ProtocolError', () => fuzzSlice(gossipMessageTarget, 1000));
