/**
 * Importing envelopes from files (`stagex-node import`): each file is read, validated and
 * stored on its own, so one bad file is reported and the good ones still go in.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_ENVELOPE_BYTES } from '../protocol/dsse.ts';
import { readAttestation, type Attestation } from '../protocol/attestation.ts';
import type { BatchVerifier, Checked } from './verify-pool.ts';
import { StagexError } from '../protocol/errors.ts';
import type { TrustPolicy } from '../protocol/trust.ts';
import type { AttestationStore } from '../store/store.ts';
import { kindOf, readRegularFile } from './regular-file.ts';

export type ImportOutcome =
  | { file: string; result: 'added' | 'present'; hash: string }
  | { file: string; result: 'error'; code: string; error: string };

/**
 * Files named by `paths`: files as given, directories walked (sorted, hidden entries skipped).
 * Anything else (a device, a FIFO) is a per-file NOT_A_FILE, never read.
 */
export async function listFiles(paths: readonly string[]): Promise<{ files: string[]; missing: ImportOutcome[] }> {
  const files: string[] = [];
  const missing: ImportOutcome[] = [];
  const walk = async (path: string): Promise<void> => {
    const info = await stat(path).catch(() => undefined);
    if (!info) {
      missing.push({ file: path, result: 'error', code: 'NOT_FOUND', error: `${path}: no such file or directory` });
    } else if (info.isDirectory()) {
      const names = (await readdir(path)).filter((n) => !n.startsWith('.')).sort();
      for (const name of names) await walk(join(path, name));
    } else if (info.isFile()) {
      files.push(path);
    } else {
      missing.push({ file: path, result: 'error', code: 'NOT_A_FILE', error: `${path}: expected a regular file or a directory, got ${kindOf(info)}` });
    }
  };
  for (const path of paths) await walk(path);
  return { files, missing };
}

/** Where an imported envelope goes: validated and stored here, or sent to the running daemon. */
export type Submit = (bytes: Uint8Array, where: string) => Promise<{ result: 'added' | 'present'; hash: string }>;

/** The local submit: the validation pipeline, then the store. */
export function storeSubmit(store: AttestationStore, policy: TrustPolicy): Submit {
  return async (bytes, where) => {
    const attestation = readAttestation(bytes, policy, where);
    return { result: await store.put(attestation), hash: attestation.hash };
  };
}

export async function importFiles(paths: readonly string[], submit: Submit): Promise<ImportOutcome[]> {
  const { files, missing } = await listFiles(paths);
  const outcomes: ImportOutcome[] = [...missing];
  for (const file of files) outcomes.push(await importFile(file, submit));
  return outcomes;
}

async function importFile(file: string, submit: Submit): Promise<ImportOutcome> {
  try {
    const bytes = await readRegularFile(file, MAX_ENVELOPE_BYTES);
    if (bytes.length > MAX_ENVELOPE_BYTES) {
      return { file, result: 'error', code: 'BAD_ENVELOPE', error: `${file}: envelope too large: expected at most ${MAX_ENVELOPE_BYTES} bytes, got more` };
    }
    return { file, ...(await submit(bytes, file)) };
  } catch (error) {
    if (error instanceof StagexError) return { file, result: 'error', code: error.code, error: error.message };
    throw error;
  }
}

export interface IngestCounts {
  added: number;
  present: number;
  /** Envelopes the verification pipeline refused, and why. */
  refused: { code: string; error: string }[];
  /** Valid envelopes the store's per-key cap refused (store/vote-cap.ts). */
  capped: number;
}

/**
 * Verifies and stores envelope bytes arriving in batches (sync, bulk import). Up to
 * `inFlight` batches are being verified (on a worker pool, or inline) while verified ones are
 * written, so neither the cores nor the disk wait for each other: a verified batch is queued
 * for writing at once, and the next batch is sent for verification as soon as at most one
 * write is ahead of it (what bounds the memory held).
 */
export async function ingestBatches(batches: Iterable<Uint8Array[]> | AsyncIterable<Uint8Array[]>, store: AttestationStore, verify: BatchVerifier, where: string, inFlight = 2): Promise<IngestCounts> {
  const counts: IngestCounts = { added: 0, present: 0, refused: [], capped: 0 };
  const verifying: Promise<Checked[]>[] = [];
  let writing: Promise<void> = Promise.resolve();
  const storeNext = async () => {
    const checked = await verifying.shift()!;
    const attestations = checked.filter((c): c is Attestation => 'votes' in c);
    for (const c of checked) if (!('votes' in c)) counts.refused.push(c);
    const ahead = writing;
    writing = store.putMany(attestations).then((results) => {
      for (const result of results) typeof result === 'object' ? (counts.capped += 1) : (counts[result] += 1);
    });
    // Awaited below or by the next call; handled now so a failure while verification runs is not "unhandled".
    writing.catch(() => undefined);
    await ahead;
  };
  for await (const batch of batches) {
    const checked = verify(batch, where);
    // Awaited by storeNext; handled now so a batch still being verified when the loop ends early
    // (the batches' source throws, a write fails) is not an "unhandled" rejection later.
    checked.catch(() => undefined);
    verifying.push(checked);
    if (verifying.length >= inFlight) await storeNext();
  }
  while (verifying.length > 0) await storeNext();
  await writing;
  return counts;
}
