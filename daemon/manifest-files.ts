/** Reads release manifests: one `digests/<stage>.txt` file, or a directory of `*.txt` files. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseManifest, type ManifestEntry } from '../protocol/manifest.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { DaemonError } from './errors.ts';

export async function readManifest(path: string): Promise<ManifestEntry[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new DaemonError('NOT_FOUND', `${path}: no such file or directory`);
  const files = info.isDirectory()
    ? (await readdir(path)).filter((n) => n.endsWith('.txt')).sort().map((n) => join(path, n))
    : [path];
  if (files.length === 0) throw new DaemonError('NOT_FOUND', `${path}: no *.txt digests files in this directory`);
  const entries: ManifestEntry[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    for (const entry of parseManifest(await readFile(file, 'utf8'), file)) {
      const earlier = seen.get(entry.image);
      if (earlier) throw new ProtocolError('BAD_MANIFEST', `${entry.where}: image ${entry.image} listed twice (first at ${earlier})`);
      seen.set(entry.image, entry.where);
      entries.push(entry);
    }
  }
  if (entries.length === 0) throw new ProtocolError('BAD_MANIFEST', `${path}: expected at least one "<sha256 hex> <image>" line, got none: an empty manifest is never trusted`);
  return entries;
}
