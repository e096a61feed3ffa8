/**
 * Errors found reading a package tree (DESIGN section 1). One class: a `ProtocolError` whose code
 * is BAD_PACKAGE when a package's own files are wrong, BAD_TREE when only the whole tree shows it
 * (a name that resolves to nothing, a cycle, two packages making one image). `problem` says which
 * rule failed, so callers and tests branch on it, never on message text.
 */
import { ProtocolError, type ProtocolErrorCode } from '../errors.ts';

export type TreeProblem =
  /** package.toml is not TOML (smol-toml gives the line). */
  | 'toml'
  /** A field is missing or has the wrong type: no name, a source without hash or mirrors, ... */
  | 'field'
  /** `name` differs from the package's directory name, so its image name is ambiguous. */
  | 'name'
  /** A placeholder in `file` or `mirrors` that cannot be expanded. */
  | 'template'
  /** The Containerfile has no stage to build (no FROM, or no `package-<s>` for a subpackage). */
  | 'containerfile'
  /** A file of the package directory cannot be read or is not a regular file. */
  | 'file'
  /** `version_from` names no package, a package without a version, or loops. */
  | 'version-from'
  /** A Containerfile names an image `stagex/<image>` that no package of the tree makes. */
  | 'unknown-dependency'
  /** Images that depend on themselves through their Containerfiles. */
  | 'cycle'
  /** Two packages make an image of the same name. */
  | 'duplicate-image'
  /** A requested image that the tree does not have. */
  | 'unknown-image';

const TREE_PROBLEMS: ReadonlySet<TreeProblem> = new Set(['version-from', 'unknown-dependency', 'cycle', 'duplicate-image', 'unknown-image']);

export interface TreeErrorDetails {
  /** 1-based line in `file`, when known. */
  line?: number;
  /** For a cycle: the image names along it, the first repeated at the end. */
  cycle?: readonly string[];
  cause?: unknown;
}

export class TreeError extends ProtocolError {
  readonly problem: TreeProblem;
  /** The file at fault, as the caller named it; '' when the fault is in a request, not a file. */
  readonly file: string;
  readonly line: number | undefined;
  readonly cycle: readonly string[] | undefined;

  constructor(problem: TreeProblem, file: string, message: string, details: TreeErrorDetails = {}) {
    const code: ProtocolErrorCode = TREE_PROBLEMS.has(problem) ? 'BAD_TREE' : 'BAD_PACKAGE';
    const where = details.line === undefined ? file : `${file}:${details.line}`;
    super(code, where === '' ? message : `${where}: ${message}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'TreeError';
    this.problem = problem;
    this.file = file;
    this.line = details.line;
    this.cycle = details.cycle;
  }
}
