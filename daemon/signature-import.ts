/**
 * Importing StageX's OpenPGP signatures as votes (DESIGN sections 4 and 5): each file is
 * verified against the configured signers' certificates, its payload is read only after the
 * signature holds and must name the image and digest of its path; the valid ones are stored in
 * one atomic batch. One bad file is reported and the others still go in.
 */
import { createHash } from 'node:crypto';
import { StagexError } from '../protocol/errors.ts';
import { parsePayload, parseSignaturePath, type OpenpgpVote } from '../protocol/stagex-signature.ts';
import type { AttestationStore } from '../store/store.ts';
import { checkSignatureFile, type Keyring } from './openpgp.ts';
import type { SignatureFileBytes } from './signature-files.ts';

export type SignatureOutcome =
  | { file: string; result: 'imported' | 'present'; image: string; digest: string; signer: string; fingerprint: string; created: string }
  | { file: string; result: 'unknown-signer'; issuer: string }
  | { file: string; result: 'mismatch'; image: string; digest: string; error: string }
  | { file: string; result: 'invalid'; code: string; error: string };

/** Files that failed: unknown signers are skipped, not failed (a shared checkout holds many). */
export function failedOutcomes(outcomes: readonly SignatureOutcome[]): SignatureOutcome[] {
  return outcomes.filter((o) => o.result === 'invalid' || o.result === 'mismatch');
}

interface Valid {
  vote: OpenpgpVote;
  signer: string;
}

/** Checks every file, then stores the valid ones in one batch; `now` bounds signature times. */
export async function importSignatures(files: readonly SignatureFileBytes[], keyring: Keyring, store: AttestationStore, now: Date): Promise<SignatureOutcome[]> {
  const checked: (Valid | SignatureOutcome)[] = [];
  for (const file of files) checked.push(await checkFile(file, keyring, now));
  const valid = checked.filter((c): c is Valid => 'vote' in c);
  const results = await store.putOpenpgpVotes(valid.map((v) => v.vote));
  const stored = new Map(valid.map((v, i) => [v, results[i]!]));
  return checked.map((c, i): SignatureOutcome => {
    if (!('vote' in c)) return c;
    const { image, digest, fingerprint, created } = c.vote;
    return { file: files[i]!.path, result: stored.get(c) === 'added' ? 'imported' : 'present', image, digest, signer: c.signer, fingerprint, created };
  });
}

async function checkFile(file: SignatureFileBytes, keyring: Keyring, now: Date): Promise<Valid | SignatureOutcome> {
  try {
    const location = parseSignaturePath(file.path);
    const check = await checkSignatureFile(file.bytes, keyring, now, file.path);
    if (check.status === 'unknown-signer') return { file: file.path, result: 'unknown-signer', issuer: (check.facts.issuerFingerprint ?? check.facts.issuerKeyId).toUpperCase() };
    const payload = parsePayload(check.payload, file.path);
    if (payload.image !== location.image || payload.digest !== location.digest) {
      return { file: file.path, result: 'mismatch', image: payload.image, digest: payload.digest, error: `${file.path}: payload names ${payload.image}@sha256:${payload.digest}, expected the image and digest of its path (${location.image}@sha256:${location.digest})` };
    }
    const vote: OpenpgpVote = {
      image: location.image,
      digest: location.digest,
      fingerprint: check.certificate.fingerprint,
      file: createHash('sha256').update(file.bytes).digest('hex'),
      created: check.facts.created.toISOString(),
    };
    return { vote, signer: check.certificate.signer };
  } catch (error) {
    if (error instanceof StagexError) return { file: file.path, result: 'invalid', code: error.code, error: error.message };
    throw error;
  }
}
