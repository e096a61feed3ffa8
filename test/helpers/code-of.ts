/** The code of the ProtocolError a call throws (undefined when it returns); anything else fails the test. */
import assert from 'node:assert/strict';
import { ProtocolError } from '../../protocol/errors.ts';

export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ProtocolError, `expected ProtocolError, got ${String(error)}`);
    return error.code;
  }
  return undefined;
}
