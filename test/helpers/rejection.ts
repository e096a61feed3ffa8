/** The BuilderError a promise rejects with; fails the test when it resolves or rejects with anything else. */
import assert from 'node:assert/strict';
import { BuilderError } from '../../daemon/builder/errors.ts';

export async function rejection(promise: Promise<unknown>): Promise<BuilderError> {
  const error = await promise.then(() => assert.fail('expected a rejection'), (e: unknown) => e);
  assert.ok(error instanceof BuilderError, `expected a BuilderError, got ${String(error)}`);
  return error;
}
