/** Errors of the builder: image archives from an engine, the canonical image written to disk. */
import { StagexError } from '../../protocol/errors.ts';

export type BuilderErrorCode =
  | 'BAD_ARCHIVE'
  | 'UNSUPPORTED_COMPRESSION'
  | 'OUTPUT_EXISTS';

export class BuilderError extends StagexError<BuilderErrorCode> {
  constructor(code: BuilderErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'BuilderError';
  }
}
