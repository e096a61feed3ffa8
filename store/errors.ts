/** Errors of the attestation store. */
import { StagexError } from '../protocol/errors.ts';

export type StoreErrorCode =
  | 'STORE_OPEN_FAILED'
  | 'STORE_CLOSED'
  | 'KEY_ALREADY_VOTED'
  | 'KEY_DIGEST_CAP'
  /** A write failed because the disk is full: nothing of it is stored; reads go on. */
  | 'STORE_FULL'
  /** A write failed for another I/O reason: nothing of it is acknowledged. */
  | 'STORE_WRITE_FAILED';

export class StoreError extends StagexError<StoreErrorCode> {
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'StoreError';
  }
}

/** A stored value that could not be read back: reported to the caller, never thrown through. */
export interface StoreProblem {
  sublevel: string;
  key: string;
  problem: string;
}
