/** Seed-fixed fuzzing of local API requests (test/fuzz/targets/api-request.ts), and the input it found. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpError, readApiRequest } from '../../daemon/api-request.ts';
import { fuzzSlice } from './harness.ts';
import { apiRequestTarget } from './targets/api-request.ts';

test('readApiRequest and checkRequest: every request is a route or a clear BAD_REQUEST / NOT_FOUND', () => fuzzSlice(apiRequestTarget, 1000));

test('regression: the request target "//[" is BAD_REQUEST, not a TypeError (new URL threw, and an unauthenticated request crashed the daemon)', () => {
  assert.throws(() => readApiRequest('GET', '//[', new Uint8Array()), (error) => error instanceof HttpError && error.code === 'BAD_REQUEST' && error.status === 400);
});
