/**
 * The build context as a directory, for `docker buildx` (StageX's recipe builds from the package
 * directory with its sources copied into `fetch/`, and names `fetch/` as the `fetch` context too).
 * Files are copied, never linked, with the modes a git checkout gives them (0755 for the
 * package's executables, 0644 otherwise; DESIGN section 2), whatever modes the tree has on disk
 * (a read-only checkout has 0444): the mode reaches the image and with it the StageX digest.
 */
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sha256Hex } from '../../protocol/encoding.ts';
import type { Package } from '../../protocol/tree/graph.ts';
import { fileMode } from '../../protocol/tree/input-digest.ts';
import { BuilderError } from './errors.ts';

/**
 * StageX's directory of sources inside a package's context (`ADD fetch/<file>`), and the named
 * build context of the same files (`COPY --from=fetch`, in bootstrap-stage1 to stage3 and others).
 */
export const FETCH = 'fetch';

/**
 * Writes `pkg`'s files and its fetched sources (source file name -> path in the cache) to a fresh
 * `dir` and returns it. A package file that changed since the tree was read is BAD_CONTEXT: the
 * input digest would no longer describe what is built.
 */
export async function stageContext(dir: string, pkg: Pick<Package, 'dir' | 'files' | 'executables'>, sources: ReadonlyMap<string, string>): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await makeDir(dir, join(dir, FETCH));
  for (const file of Object.keys(pkg.files)) {
    const target = join(dir, file);
    await makeDir(dir, dirname(target));
    await writeFile(target, await readPackageFile(pkg, file));
    await chmod(target, Number.parseInt(fileMode(pkg, file), 8));
  }
  for (const [file, path] of sources) {
    const target = join(dir, FETCH, file);
    await copyFile(path, target);
    await chmod(target, 0o644);
  }
  return dir;
}

/** A package file's bytes, refused (BAD_CONTEXT) when they are not what the tree was read with. */
export async function readPackageFile(pkg: Pick<Package, 'dir' | 'files'>, file: string): Promise<Buffer> {
  const bytes = await readFile(join(pkg.dir, file));
  const got = sha256Hex(bytes);
  const planned = pkg.files[file];
  if (got !== planned) throw new BuilderError('BAD_CONTEXT', `${join(pkg.dir, file)}: changed since the tree was read (sha256 ${got}, planned ${planned}); plan again`);
  return bytes;
}

/** Makes `path` and the directories between `root` and it, each 0755 whatever the umask. */
async function makeDir(root: string, path: string): Promise<void> {
  await mkdir(path, { recursive: true });
  for (let at = path; at.length >= root.length; at = dirname(at)) {
    await chmod(at, 0o755);
    if (at === root) break;
  }
}
