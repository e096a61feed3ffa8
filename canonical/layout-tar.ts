/**
 * An OCI layout directory as a tar stream, the form `docker load` (`POST /images/load`) takes.
 * Entries are the layout's files in sorted order, read one at a time.
 */
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';

/** Streams the files under `dir` (a layout written by canonicalize) as an uncompressed tar. */
export function layoutTar(dir: string): Readable {
  const tar = pack();
  const out = new PassThrough();
  void (async () => {
    for (const name of listFiles(dir)) {
      const path = join(dir, name);
      const entry = tar.entry({ name, size: statSync(path).size, mode: 0o644, mtime: new Date(0) });
      await pipeline(createReadStream(path), entry);
    }
    tar.finalize();
  })().catch((error: unknown) => {
    tar.destroy(error as Error);
    out.destroy(error as Error);
  });
  tar.pipe(out);
  return out;
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((entry) => {
      const name = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      return entry.isDirectory() ? listFiles(dir, name) : [name];
    });
}
