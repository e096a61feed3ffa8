/**
 * Reads a StageX tree from disk (DESIGN section 1): finds the package directories
 * `packages/<stage>/<name>/` (holding both `package.toml` and `Containerfile`), hashes every file
 * in them and notes which are executable, for the input digests (section 2), and hands them to the pure resolver. One bad package
 * never hides another's error: all are collected.
 */
import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveTree, type PackageInput, type ResolvedTree, type UnreadablePackage } from '../protocol/tree/graph.ts';
import { TreeError } from '../protocol/tree/errors.ts';
import { STAGES, type Stage } from '../protocol/tree/package.ts';
import { DaemonError } from './errors.ts';

export interface LoadTreeOptions {
  /** Files read at once. Default 64: enough to keep the disk busy, far below fd limits. */
  concurrency?: number;
}

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

/** Loads and resolves the tree at `dir`; DaemonError NOT_FOUND when it has no `packages/` directory. */
export async function loadTree(dir: string, options: LoadTreeOptions = {}): Promise<LoadedTree> {
  const root = join(dir, 'packages');
  const stages = await readdir(root, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    throw new DaemonError('NOT_FOUND', `${dir}: expected a StageX tree with a packages/ directory, got ${error.code ?? error.message}`, { cause: error });
  });
  const candidates: { stage: Stage; name: string; dir: string }[] = [];
  for (const stage of STAGES) {
    if (!stages.some((d) => d.name === stage && d.isDirectory())) continue;
    const entries = await readdir(join(root, stage), { withFileTypes: true });
    for (const entry of entries) if (entry.isDirectory()) candidates.push({ stage, name: entry.name, dir: join(root, stage, entry.name) });
  }
  const concurrency = options.concurrency ?? 64;
  const listed = await mapLimit(candidates, concurrency, async (c) => ({ ...c, ...(await listFiles(c.dir)) }));
  // a directory that cannot be listed at all may be a package: it is reported, not ignored
  const found = listed.filter((p) => PACKAGE_FILES.every((f) => p.files.includes(f)) || p.problem?.file === p.dir);
  const ignored = listed.filter((p) => !found.includes(p)).map((p) => `packages/${p.stage}/${p.name}`).sort();
  const hashes = await mapLimit(found.flatMap((p) => p.files.map((file) => ({ p, file }))), concurrency, async ({ p, file }) => {
    const path = join(p.dir, file);
    const unreadable = (error: NodeJS.ErrnoException) => new TreeError('file', path, `cannot read: ${error.code ?? error.message}`, { cause: error });
    const bytes = await readFile(path).catch(unreadable);
    if (bytes instanceof TreeError) return bytes;
    const mode = await stat(path).then((s) => s.mode, unreadable);
    if (mode instanceof TreeError) return mode;
    return { sha256: createHash('sha256').update(bytes).digest('hex'), executable: (mode & 0o111) !== 0, text: (PACKAGE_FILES as readonly string[]).includes(file) ? bytes.toString('utf8') : undefined };
  });
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

/** Every regular file under a package directory by relative posix path, sorted, `fetch/` left out; anything else is a problem. */
async function listFiles(dir: string): Promise<{ files: string[]; problem?: TreeError }> {
  const files: string[] = [];
  let problem: TreeError | undefined;
  const walk = async (relative: string): Promise<void> => {
    const entries = await readdir(join(dir, relative), { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      problem ??= new TreeError('file', join(dir, relative), `cannot list: ${error.code ?? error.message}`, { cause: error });
      return [] as Dirent[];
    });
    for (const entry of entries) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isFile()) files.push(path);
      else if (entry.isDirectory()) {
        if (path !== FETCH_DIR) await walk(path);
      } else problem ??= new TreeError('file', join(dir, path), `expected a regular file or a directory, got ${kindOf(entry)}`);
    }
  };
  await walk('');
  files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return problem ? { files, problem } : { files };
}

function kindOf(entry: Dirent): string {
  if (entry.isSymbolicLink()) return 'a symbolic link';
  if (entry.isFIFO()) return 'a fifo';
  if (entry.isSocket()) return 'a socket';
  return 'a device';
}

/** Maps with at most `limit` calls in flight; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await run(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
