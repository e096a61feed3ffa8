/**
 * The consumer's check (issue 5): the canonical digest (DESIGN section 3) of an image as it is in
 * the local engine, e.g. one just pulled, computed exactly as a reproducer computes its output.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalize } from '../../canonical/index.ts';
import type { Engine } from './engine.ts';

/** The canonical output digest (hex) of `ref` in the engine; the layout is written to a temporary directory and removed. */
export async function canonicalDigestOf(engine: Engine, ref: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'stagex-verify-'));
  try {
    const image = await canonicalize(await engine.exportImage(ref), join(dir, 'oci'));
    return image.digest.replace(/^sha256:/, '');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The StageX image name a reference names: `[registry/]stagex/<stage>-<name>[:tag][@digest]` -> `<stage>-<name>`. */
export function imageNameOfRef(ref: string): string {
  const path = ref.replace(/@.*$/, '');
  const last = path.slice(path.lastIndexOf('/') + 1);
  return last.includes(':') ? last.slice(0, last.indexOf(':')) : last;
}
