/**
 * Reading a StageX signatures checkout (DESIGN section 4): `signatures/stagex/<image>@sha256=<hex>/
 * signature-<n>`. Every entry is looked at without following links: a symlink, a directory named
 * like a file, a file over 64 KiB or a name outside the layout is reported on its own and read no
 * further; hidden entries (.git) are skipped.
 */
import { constants } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_SIGNATURE_BYTES, parseSignatureDirectory, parseSignatureFileName, STAGEX_REGISTRY } from '../protocol/stagex-signature.ts';
import { StagexError } from '../protocol/errors.ts';
import { DaemonError } from './errors.ts';

/** A file of the layout, read: `path` is relative to `signatures/stagex/`. */
export interface SignatureFileBytes {
  path: string;
  bytes: Uint8Array;
}

export interface UnreadableEntry {
  path: string;
  code: string;
  error: string;
}

/**
 * The `signatures/stagex` directory of a checkout: `<dir>/signatures/stagex` when it exists, else
 * `<dir>` itself when it holds `<image>@sha256=<hex>` entries. NOT_FOUND otherwise.
 */
export async function signaturesRoot(dir: string): Promise<string> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new DaemonError('NOT_FOUND', `${dir}: expected a directory (a StageX signatures checkout), got ${info ? 'a file' : 'nothing'}`);
  const nested = join(dir, 'signatures', STAGEX_REGISTRY);
  if ((await stat(nested).catch(() => undefined))?.isDirectory()) return nested;
  if ((await readdir(dir)).some((name) => name.includes('@sha256='))) return dir;
  throw new DaemonError('NOT_FOUND', `${dir}: expected a checkout holding signatures/${STAGEX_REGISTRY}/<image>@sha256=<hex>/, or that directory itself, got neither`);
}

/** Every signature file under `root` (sorted), read with the size cap, and the entries that could not be. */
export async function readSignatureFiles(root: string): Promise<{ files: SignatureFileBytes[]; unreadable: UnreadableEntry[] }> {
  const files: SignatureFileBytes[] = [];
  const unreadable: UnreadableEntry[] = [];
  const refuse = (path: string, error: unknown) => {
    if (!(error instanceof StagexError)) throw error;
    unreadable.push({ path, code: error.code, error: error.message });
  };
  for (const dir of (await readdir(root, { withFileTypes: true })).filter((d) => !d.name.startsWith('.')).sort(byName)) {
    try {
      parseSignatureDirectory(dir.name);
      if (!dir.isDirectory()) throw new DaemonError('BAD_SIGNATURE_FILE', `${dir.name}: expected a directory, got ${kindOf(dir)}`);
    } catch (error) {
      refuse(dir.name, error);
      continue;
    }
    for (const file of (await readdir(join(root, dir.name), { withFileTypes: true })).filter((d) => !d.name.startsWith('.')).sort(byName)) {
      const path = `${dir.name}/${file.name}`;
      try {
        parseSignatureFileName(file.name, path);
        if (!file.isFile()) throw new DaemonError('BAD_SIGNATURE_FILE', `${path}: expected a regular file, got ${kindOf(file)}`);
        files.push({ path, bytes: await readCapped(join(root, path), path) });
      } catch (error) {
        refuse(path, error);
      }
    }
  }
  return { files, unreadable };
}

/** Reads a regular file of at most MAX_SIGNATURE_BYTES, never through a symlink, checked on the open descriptor. */
export async function readCapped(file: string, where: string): Promise<Uint8Array> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((error: NodeJS.ErrnoException) => {
    throw new DaemonError('BAD_SIGNATURE_FILE', `${where}: cannot open (${error.code ?? error.message})`);
  });
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new DaemonError('BAD_SIGNATURE_FILE', `${where}: expected a regular file, got another kind`);
    if (info.size > MAX_SIGNATURE_BYTES) throw new DaemonError('BAD_SIGNATURE_FILE', `${where}: expected at most ${MAX_SIGNATURE_BYTES} bytes, got ${info.size}`);
    const buffer = Buffer.alloc(MAX_SIGNATURE_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_SIGNATURE_BYTES) throw new DaemonError('BAD_SIGNATURE_FILE', `${where}: expected at most ${MAX_SIGNATURE_BYTES} bytes, got more (it grew while read)`);
    }
    return new Uint8Array(buffer.subarray(0, length));
  } finally {
    await handle.close();
  }
}

function kindOf(entry: { isDirectory(): boolean; isSymbolicLink(): boolean; isFile(): boolean }): string {
  return entry.isSymbolicLink() ? 'a symbolic link' : entry.isDirectory() ? 'a directory' : entry.isFile() ? 'a file' : 'a special file';
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
