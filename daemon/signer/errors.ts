/** Errors of signing: an external signing command, offline signing and its statement files. */
import { StagexError } from '../../protocol/errors.ts';

export type SignerErrorCode =
  /** The signing command could not be started (not found, not executable). */
  | 'SIGNER_START'
  /** The signing command exited non-zero or was killed by a signal. */
  | 'SIGNER_EXIT'
  /** The signing command did not finish within its timeout; its process group was killed. */
  | 'SIGNER_TIMEOUT'
  /** The signing command's output is not one ed25519 signature (or is larger than the cap). */
  | 'SIGNER_OUTPUT'
  /** A signature that does not hold under the configured public key (pinned rule). */
  | 'SIGNER_BAD_SIGNATURE'
  /** A statements directory whose index or files are not what `statements export` writes. */
  | 'BAD_STATEMENTS'
  /** An exported payload that differs from the statement this node's build produced. */
  | 'STATEMENT_CHANGED'
  /** No `.sig` file beside an exported statement. */
  | 'NO_SIGNATURE';

export class SignerError extends StagexError<SignerErrorCode> {
  constructor(code: SignerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'SignerError';
  }
}
