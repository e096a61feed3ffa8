/**
 * Reads a StageX tree from disk (DESIGN section 1): finds the package directories
 * `packages/<stage>/<name>/` (holding both `package.toml` and `Containerfile`), hashes every file
 * in them and notes which are executable, for the input digests (section 2), and hands them to the pure resolver. One bad package
 * never hides another's error: all are collected.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { resolveTree, type PackageInput, type ResolvedTree, type UnreadablePackage } from '../protocol/tree/graph.ts';
import { TreeError } from '../protocol/tree/errors.ts';
import { STAGES, type Stage } from '../protocol/tree/package.ts';
import { DaemonError } from './errors.ts';

export interface LoadedTree extends ResolvedTree {
  /** Directories under `packages/<stage>/` that are not packages (a `package.toml~`, one file of the two), sorted. */
  ignored: string[];
}

const PACKAGE_FILES = ['package.toml', 'Containerfile'] as const;
/**
 * StageX's build copies each package's sources into `<package>/fetch/` before building (and its
 * Makefile leaves that directory out of a package's inputs): they are covered by the source
 * hashes, so a tree that has been built once plans the same as a fresh checkout.
 */
const FETCH_DIR = 'fetch';
/**
 * Directories listed, or files read, between two turns of the event loop. The tree is read
 * with synchronous calls (a tree is a few MB, in the page cache after the first read): a third
 * of the CPU of promise-based reads, 64 at a time, whose FileHandles and promises were most of
 * a cold `plan`'s garbage; yielding every batch keeps a daemon that reads it responsive.
 */
const BATCH = 64;

/** Loads and resolves the tree at `dir`; DaemonError NOT_FOUND when it has no `packages/` directory. */
export async function loadTree(dir: string): Promise<LoadedTree> {
  const root = join(dir, 'packages');
  let stages: Dirent[];
  try {
    stages = readdirSync(root, { withFileTypes: true });
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    throw new DaemonError('NOT_FOUND', `${dir}: expected a StageX tree with a packages/ directory, got ${code ?? message}`, { cause: error });
  }
  const candidates: { stage: Stage; name: string; dir: string }[] = [];
  for (const stage of STAGES) {
    if (!stages.some((d) => d.name === stage && d.isDirectory())) continue;
    const entries = readdirSync(join(root, stage), { withFileTypes: true });
    for (const entry of entries) if (entry.isDirectory()) candidates.push({ stage, name: entry.name, dir: join(root, stage, entry.name) });
  }
  const listed = await inBatches(candidates, (c) => ({ ...c, ...listFiles(c.dir) }));
  // a directory that cannot be listed at all may be a package: it is reported, not ignored
  const found = listed.filter((p) => PACKAGE_FILES.every((f) => p.files.includes(f)) || p.problem?.file === p.dir);
  const ignored = listed.filter((p) => !found.includes(p)).map((p) => `packages/${p.stage}/${p.name}`).sort();
  const hashes = await inBatches(found.flatMap((p) => p.files.map((file) => ({ p, file }))), ({ p, file }) => hashFile(join(p.dir, file), (PACKAGE_FILES as readonly string[]).includes(file)));
  let at = 0;
  const inputs = found.map((p): PackageInput | UnreadablePackage => {
    const read = hashes.slice(at, (at += p.files.length));
    const problem = p.problem ?? read.find((r) => r instanceof TreeError);
    if (problem) return { stage: p.stage, name: p.name, error: problem };
    const hashed = read as { sha256: string; executable: boolean; text?: string }[];
    const textOf = (name: string) => hashed[p.files.indexOf(name)]!.text!;
    // fromEntries defines own properties, so even a file named __proto__ is kept
    const files = Object.fromEntries(p.files.map((file, i) => [file, hashed[i]!.sha256]));
    const executables = p.files.filter((_, i) => hashed[i]!.executable);
    return { stage: p.stage, name: p.name, dir: p.dir, toml: textOf('package.toml'), containerfile: textOf('Containerfile'), files, executables };
  });
  return { ...resolveTree(inputs), ignored };
}

/** A file's sha256 and executable bit (one open: fstat, read), with its text when `text`; a TreeError when it cannot be read. */
function hashFile(path: string, text: boolean): { sha256: string; executable: boolean; text?: string } | TreeError {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const { mode } = fstatSync(fd);
    const bytes = readFileSync(fd);
    return { sha256: createHash('sha256').update(bytes).digest('hex'), executable: (mode & 0o111) !== 0, ...(text ? { text: bytes.toString('utf8') } : {}) };
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    return new TreeError('file', path, `cannot read: ${code ?? message}`, { cause: error });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Every regular file under a package directory by relative posix path, sorted, `fetch/` left out; anything else is a problem. */
function listFiles(dir: string): { files: string[]; problem?: TreeError } {
  const files: string[] = [];
  let problem: TreeError | undefined;
  const walk = (relative: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(join(dir, relative), { withFileTypes: true });
    } catch (error) {
      const { code, message } = error as NodeJS.ErrnoException;
      problem ??= new TreeError('file', join(dir, relative), `cannot list: ${code ?? message}`, { cause: error });
      return;
    }
    for (const entry of entries) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isFile()) files.push(path);
      else if (entry.isDirectory()) {
        if (path !== FETCH_DIR) walk(path);
      } else problem ??= new TreeError('file', join(dir, path), `expected a regular file or a directory, got ${kindOf(entry)}`);
    }
  };
  walk('');
  files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return problem ? { files, problem } : { files };
}

function kindOf(entry: Dirent): string {
  if (entry.isSymbolicLink()) return 'a symbolic link';
  if (entry.isFIFO()) return 'a fifo';
  if (entry.isSocket()) return 'a socket';
  return 'a device';
}

/** Maps `items` in order, giving the event loop a turn after every BATCH items. */
async function inBatches<T, R>(items: readonly T[], run: (item: T) => R): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % BATCH === 0) await turn();
    results.push(run(items[i]!));
  }
  return results;
}
