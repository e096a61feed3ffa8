/**
 * Errors of the canonical image: an engine's archive that cannot be read, layers that cannot be
 * squashed, content a canonical layer cannot hold, an output directory that is not ours. The codes
 * are those the builder records for a failed build.
 */
import { StagexError } from '../protocol/errors.ts';

export type CanonicalErrorCode =
  /** Not a readable tar: bad header, checksum, pax record or truncated data. */
  | 'BAD_TAR'
  /** Layer content that cannot be squashed: a path leaving the root, a hard link to nothing. */
  | 'BAD_LAYER'
  /** A fifo or device node in the image: a canonical layer carries none. */
  | 'SPECIAL_FILE'
  | 'BAD_IMAGE_CONFIG'
  /** No docker-archive or OCI layout, or one whose documents do not hold together. */
  | 'BAD_ARCHIVE'
  /** A bzip2 or xz layer: only plain, gzip and zstd are read. */
  | 'UNSUPPORTED_COMPRESSION'
  /** A digest in an archive that is not `sha256:` and 64 lowercase hex characters. */
  | 'BAD_ENCODING'
  | 'OUTPUT_EXISTS';

export class CanonicalError extends StagexError<CanonicalErrorCode> {
  constructor(code: CanonicalErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'CanonicalError';
  }
}
