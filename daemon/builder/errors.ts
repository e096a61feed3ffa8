/**
 * Errors of the builder: the engine and its builds, the outputs and the sources fetched for a
 * build. Reading an engine's image archive and writing its canonical image fail with
 * CanonicalError (canonical/errors.ts).
 */
import { StagexError } from '../../protocol/errors.ts';

export type BuilderErrorCode =
  | 'ENGINE_UNREACHABLE'
  | 'ENGINE_TOO_OLD'
  | 'NO_BUILDKIT'
  | 'ENGINE_ERROR'
  | 'IMAGE_NOT_FOUND'
  | 'BAD_CONTEXT'
  | 'BUILD_FAILED'
  | 'BUILD_ABORTED'
  /** The build ran past builder.buildTimeoutSeconds and was killed. */
  | 'BUILD_TIMEOUT'
  | 'BAD_OUTPUT'
  | 'BOOTSTRAP_GATE'
  | 'EXTERNAL_IMAGE'
  | 'ENGINE_MISMATCH'
  | 'BAD_SOURCE'
  | 'SOURCE_UNAVAILABLE'
  | 'SOURCE_MISMATCH'
  | 'SOURCE_ABORTED'
  | 'NO_OCI_EXPORT'
  | 'BAD_EXPORT';

export class BuilderError extends StagexError<BuilderErrorCode> {
  constructor(code: BuilderErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'BuilderError';
  }
}

/** A build the engine ran and reported failed; `log` holds its last output lines, oldest first. */
export class BuildFailedError extends BuilderError {
  readonly log: readonly string[];
  constructor(message: string, log: readonly string[]) {
    super('BUILD_FAILED', log.length === 0 ? message : `${message}\nlast log lines:\n${log.join('\n')}`);
    this.name = 'BuildFailedError';
    this.log = log;
  }
}
