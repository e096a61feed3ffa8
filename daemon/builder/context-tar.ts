/**
 * Build contexts as the Engine API takes them: an uncompressed tar. The Containerfile is the first
 * entry because Docker misreads a context whose first entry carries a PAX header (NOTES "Engine":
 * the whole body is taken as the Dockerfile), and a short ASCII name is always plain ustar. The
 * other files follow sorted bytewise, with fixed owner and time and mode 0644, or 0755 for the
 * package's executables (DESIGN section 2: modes reach the image), so equal files give equal bytes.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import { BuilderError } from './errors.ts';

/** The build file's name when none is given; StageX packages name theirs so. */
export const DEFAULT_BUILD_FILE = 'Containerfile';

/** A name that ustar holds without PAX: ASCII, no directory, at most 100 bytes. */
const PLAIN_NAME = /^[A-Za-z0-9._-]{1,100}$/;

/** A context file: its bytes, or a file on disk streamed into the tar (sources can be large). */
export type ContextFile = Uint8Array | string | { path: string; size: number };

/**
 * Packs `files` (relative path -> content) into a context tar, `buildFile` first. Throws
 * BAD_CONTEXT for a missing build file, a build file name ustar cannot hold plainly, or a path
 * that is absolute, empty, or has `.`/`..`/empty segments.
 */
export async function contextTar(files: ReadonlyMap<string, ContextFile>, buildFile = DEFAULT_BUILD_FILE, executables: ReadonlySet<string> = new Set()): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of contextStream(files, buildFile, executables)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** As contextTar, as a stream: files on disk are read as the engine takes the tar, never held whole. */
export function contextStream(files: ReadonlyMap<string, ContextFile>, buildFile = DEFAULT_BUILD_FILE, executables: ReadonlySet<string> = new Set()): Readable {
  if (!PLAIN_NAME.test(buildFile) || buildFile === '.' || buildFile === '..') {
    throw new BuilderError('BAD_CONTEXT', `build context: expected a build file name of ASCII letters, digits, '.', '_' or '-' (at most 100), got ${JSON.stringify(buildFile)}`);
  }
  if (!files.has(buildFile)) {
    throw new BuilderError('BAD_CONTEXT', `build context: expected a file named ${buildFile}, got ${files.size} files without it`);
  }
  return filesTar(files, buildFile, executables);
}

/**
 * The files as an uncompressed tar, `first` (when given) first and the rest sorted bytewise,
 * with fixed owner and time, mode 0755 for `executables` and 0644 for the rest. BAD_CONTEXT for a path that is absolute, empty, or has
 * `.`/`..`/empty segments.
 */
export function filesTar(files: ReadonlyMap<string, ContextFile>, first?: string, executables: ReadonlySet<string> = new Set()): Readable {
  for (const path of files.keys()) checkPath(path);
  const rest = [...files.keys()].filter((path) => path !== first).sort(bytewise);
  const tar = pack();
  const write = async () => {
    for (const name of first === undefined ? rest : [first, ...rest]) {
      const content = files.get(name)!;
      const header = { name, mode: executables.has(name) ? 0o755 : 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime: new Date(0) };
      if (typeof content === 'string' || content instanceof Uint8Array) {
        tar.entry(header, typeof content === 'string' ? Buffer.from(content) : Buffer.from(content.buffer, content.byteOffset, content.byteLength));
      } else {
        await pipeline(createReadStream(content.path), tar.entry({ ...header, size: content.size }));
      }
    }
    tar.finalize();
  };
  write().catch((error: unknown) => tar.destroy(error as Error));
  return Readable.from(tar);
}

function checkPath(path: string): void {
  const segments = path.split('/');
  if (path === '' || path.startsWith('/') || segments.some((s) => s === '' || s === '.' || s === '..') || path.includes('\0')) {
    throw new BuilderError('BAD_CONTEXT', `build context: expected a relative path without '.', '..' or empty segments, got ${JSON.stringify(path)}`);
  }
}

function bytewise(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
