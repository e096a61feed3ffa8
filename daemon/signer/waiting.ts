/**
 * Statements waiting for an offline signature (DESIGN section 4: signing keys stay off networked
 * machines). A node whose key is offline keeps, beside each finished build's record, the exact
 * statement payload bytes it would have signed: `<outputs>/<inputDigest>/statement.json`. They
 * are written once: a signature made elsewhere covers these bytes, so later runs keep them
 * (new start times or machine facts would void it) unless the build itself changed.
 */
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { parseStatement } from '../../protocol/statement.ts';
import { ProtocolError, StagexError } from '../../protocol/errors.ts';
import { outputPaths, type BuildRecord } from '../builder/outputs.ts';

export interface WaitingStatement {
  image: string;
  platform: string;
  inputDigest: string;
  /** Canonical output digest the statement attests, hex. */
  digest: string;
  /** The exact payload bytes a signature must cover (through their DSSE PAE). */
  payload: Uint8Array;
}

const INPUT_DIGEST = /^[0-9a-f]{64}$/;

/** Keeps `payload` for `record`, or the payload already kept for this very build; returns what is kept. */
export async function parkStatement(outputs: string, record: BuildRecord, payload: Uint8Array): Promise<WaitingStatement> {
  const kept = await readWaiting(outputs, record.inputDigest).catch((error: unknown) => {
    if (error instanceof StagexError) return undefined; // unreadable: written afresh below
    throw error;
  });
  if (kept && kept.image === record.image && kept.platform === record.platform && kept.digest === record.digest) return kept;
  const path = outputPaths(outputs, record.inputDigest).statement;
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, payload);
  await rename(temporary, path);
  return { image: record.image, platform: record.platform, inputDigest: record.inputDigest, digest: record.digest, payload };
}

/** The statement kept for `inputDigest`, or undefined; BAD_STATEMENT (protocol) when it does not parse or names another build. */
export async function readWaiting(outputs: string, inputDigest: string): Promise<WaitingStatement | undefined> {
  const path = outputPaths(outputs, inputDigest).statement;
  let payload: Uint8Array;
  try {
    payload = new Uint8Array(await readFile(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const statement = parseStatement(payload, path);
  const params = statement.predicate.buildDefinition.externalParameters;
  const [subject] = statement.subject;
  if (params.inputDigest !== inputDigest) {
    throw new ProtocolError('BAD_STATEMENT', `${path}: expected a statement for input digest ${inputDigest}, got one for ${params.inputDigest}`);
  }
  return { image: subject!.name, platform: params.platform, inputDigest, digest: subject!.digest.sha256, payload };
}

/** Every kept statement under `outputs`, by input digest. */
export async function listWaiting(outputs: string): Promise<WaitingStatement[]> {
  const names = await readdir(outputs).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  const found: WaitingStatement[] = [];
  for (const name of names.filter((n) => INPUT_DIGEST.test(n)).sort()) {
    const waiting = await readWaiting(outputs, name);
    if (waiting) found.push(waiting);
  }
  return found;
}
