/** Errors of the daemon shell: configuration, files, CLI usage, OpenPGP signature files. */
import { StagexError } from '../protocol/errors.ts';

export type DaemonErrorCode =
  | 'CONFIG_NOT_FOUND'
  | 'BAD_CONFIG'
  | 'KEY_FILE_MODE'
  | 'KEY_FILE'
  | 'EXISTS'
  | 'USAGE'
  | 'NOT_FOUND'
  /** The API address is taken: another process answers on it. */
  | 'API_IN_USE'
  /**
   * An answer on the API address that cannot be attributed to this config's daemon: a 401, or
   * no valid proof (another config's daemon, any process that bound the port), or a token file
   * that is not this user's 0600 file.
   */
  | 'API_UNAUTHENTICATED'
  /** The API token's or socket's directory is not this user's own (others could replace them). */
  | 'INSECURE_DIR'
  /** The running daemon failed to answer (HTTP 500): its fault, not the request's. */
  | 'DAEMON_FAILED'
  /** A verification worker died with batches in hand (they are rejected; a new worker replaces it). */
  | 'VERIFY_WORKER_FAILED'
  /** A path that must be a regular file is a device, FIFO, socket or directory. */
  | 'NOT_A_FILE'
  | 'BAD_TREE'
  /** Signing asked of a node whose key is offline (config signer.offline). */
  | 'OFFLINE'
  | 'BAD_SIGNATURE_FILE'
  | 'BAD_SIGNATURE'
  | 'SIGN_FAILED';

export class DaemonError extends StagexError<DaemonErrorCode> {
  constructor(code: DaemonErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'DaemonError';
  }
}
