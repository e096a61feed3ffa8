/**
 * Finished builds on disk, by input digest (issue 5, "resume, never redo"):
 * `<outputs>/<inputDigest>/oci/` is the canonical OCI layout (DESIGN section 3), `stagex/` the
 * release recipe's own OCI output (Docker), `build.json` the record of the build (and, on a node
 * that signs offline, `statement.json` the payload waiting for a signature: daemon/signer/waiting.ts).
 * The record is written last and
 * atomically, so a build counts as done only once both are complete; a layout without a record
 * (a crash in between) is removed and built again.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { describeIssues } from '../../protocol/errors.ts';
import { imageNameSchema, platformSchema, sha256HexSchema } from '../../protocol/statement.ts';
import { BuilderError } from './errors.ts';

const recordSchema = z.strictObject({
  image: imageNameSchema,
  platform: platformSchema,
  inputDigest: sha256HexSchema,
  /** The canonical output digest, hex. */
  digest: sha256HexSchema,
  engine: z.strictObject({
    name: z.string(),
    version: z.string(),
    /** The engine's image id, where the engine keeps the image (Podman). */
    imageId: z.string().optional(),
    /** The release recipe's per-platform manifest digest, hex (Docker): the StageX digest. */
    stagexDigest: sha256HexSchema.optional(),
  }),
  sources: z.array(z.strictObject({ uri: z.string(), sha256: sha256HexSchema })),
  dependencies: z.array(z.strictObject({ image: imageNameSchema, digest: sha256HexSchema })),
  startedOn: z.iso.datetime(),
  finishedOn: z.iso.datetime(),
});
export type BuildRecord = z.output<typeof recordSchema>;

const RECORD = 'build.json';
const STATEMENT = 'statement.json';

/**
 * Where one build's files go: `oci/` the canonical layout, `stagex/` the release recipe's OCI
 * output (Docker; what dependants build from), `work/` the context and export while it builds,
 * `statement.json` a statement waiting for an offline signature, `build.log` the build's log (build-log.ts).
 */
export function outputPaths(outputs: string, inputDigest: string): { dir: string; layout: string; stagex: string; work: string; record: string; statement: string; log: string } {
  const dir = join(outputs, inputDigest);
  return { dir, layout: join(dir, 'oci'), stagex: join(dir, 'stagex'), work: join(dir, 'work'), record: join(dir, RECORD), statement: join(dir, STATEMENT), log: join(dir, 'build.log') };
}

/**
 * The record of a finished build of `inputDigest`, or undefined when there is none. A record that
 * does not parse, or names another input digest, is BAD_OUTPUT (never silently rebuilt over).
 */
export async function readRecord(outputs: string, inputDigest: string): Promise<BuildRecord | undefined> {
  const { record } = outputPaths(outputs, inputDigest);
  let text: string;
  try {
    text = await readFile(record, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new BuilderError('BAD_OUTPUT', `${record}: not valid JSON (${(error as Error).message}); remove the directory to build again`);
  }
  const parsed = recordSchema.safeParse(json);
  if (!parsed.success) throw new BuilderError('BAD_OUTPUT', `${record}: ${describeIssues(parsed.error.issues, json).join('; ').trim()}; remove the directory to build again`);
  if (parsed.data.inputDigest !== inputDigest) throw new BuilderError('BAD_OUTPUT', `${record}: records input digest ${parsed.data.inputDigest}, expected ${inputDigest}`);
  return parsed.data;
}

/** Clears what a build that did not finish left, so the layout can be written afresh. */
export async function clearUnfinished(outputs: string, inputDigest: string): Promise<void> {
  const { dir } = outputPaths(outputs, inputDigest);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}

/** Writes the record last, through a rename: it exists only complete. */
export async function writeRecord(outputs: string, record: BuildRecord): Promise<void> {
  const path = outputPaths(outputs, record.inputDigest).record;
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(recordSchema.parse(record), null, 2)}\n`);
  await rename(temporary, path);
}
