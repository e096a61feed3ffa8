/**
 * Writing StageX signatures as StageX's `src/sign.sh` does (DESIGN section 4): for an image
 * digest, the payload signed by an external command (default `gpg --sign --no-armor`, so a
 * smart card signs) goes to the first free `signature-<n>` of its lookaside directory, unless
 * this signer already signed there (sign.sh's dir-has-no-sig). A file is written under a
 * temporary name and linked into place, so a reader never sees half a file and nothing that
 * exists is overwritten.
 */
import { spawn } from 'node:child_process';
import { link, mkdir, readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildPayload, MAX_SIGNATURE_BYTES, parseSignatureFileName, signatureDirectory } from '../protocol/stagex-signature.ts';
import { StagexError } from '../protocol/errors.ts';
import { DaemonError } from './errors.ts';
import { checkSignatureFile, keyWithId, readSignatureFile, type Keyring } from './openpgp.ts';
import { readCapped } from './signature-files.ts';

/** How long the sign command may take: a smart card waits for a touch. */
const SIGN_TIMEOUT_MS = 120_000;
const MAX_STDERR = 4096;

export interface SignOptions {
  /** The checkout root: files go to `<out>/signatures/stagex/<image>@sha256=<hex>/`. */
  out: string;
  /** argv of the command that reads the payload on stdin and writes the signed message on stdout. */
  command: readonly string[];
  /** The signer's primary fingerprint (lowercase), when known before signing. */
  fingerprint?: string;
  keyring: Keyring;
  now: () => Date;
}

export type SignOutcome =
  | { image: string; digest: string; result: 'signed'; file: string; fingerprint: string }
  | { image: string; digest: string; result: 'already-signed'; file: string; fingerprint: string }
  | { image: string; digest: string; result: 'failed'; code: string; error: string };

/** The default command: gpg signs with `--local-user` when given, else its default key. */
export function gpgCommand(localUser?: string): string[] {
  return ['gpg', '--sign', '--no-armor', ...(localUser ? ['--local-user', localUser] : [])];
}

/** Signs each image digest in turn; the signer learnt from the first signature decides what is already signed. */
export async function signDigests(targets: readonly { image: string; digest: string }[], options: SignOptions): Promise<SignOutcome[]> {
  let fingerprint = options.fingerprint;
  const outcomes: SignOutcome[] = [];
  for (const { image, digest } of targets) {
    try {
      const dir = join(options.out, signatureDirectory(image, digest));
      await mkdir(dir, { recursive: true });
      const before = fingerprint === undefined ? undefined : await signedBy(dir, fingerprint, options.keyring);
      if (before) {
        outcomes.push({ image, digest, result: 'already-signed', file: before, fingerprint: fingerprint! });
        continue;
      }
      const payload = buildPayload(image, digest);
      const signed = await runSign(options.command, payload);
      const signer = await signerOf(signed, payload, options);
      fingerprint ??= signer;
      if (signer !== fingerprint) throw new DaemonError('SIGN_FAILED', `the sign command signed with ${signer.toUpperCase()}, expected ${fingerprint.toUpperCase()}`);
      const existing = await signedBy(dir, fingerprint, options.keyring);
      if (existing) {
        outcomes.push({ image, digest, result: 'already-signed', file: existing, fingerprint });
        continue;
      }
      outcomes.push({ image, digest, result: 'signed', file: await writeNext(dir, signed), fingerprint });
    } catch (error) {
      if (!(error instanceof StagexError)) throw error;
      outcomes.push({ image, digest, result: 'failed', code: error.code, error: error.message });
    }
  }
  return outcomes;
}

/**
 * The primary fingerprint of a signed message's signer: through the keyring's certificates
 * (a subkey's signature belongs to its primary, and then the signature must verify), else the
 * issuer fingerprint itself. Its literal data must be exactly the payload.
 */
async function signerOf(signed: Uint8Array, payload: Uint8Array, options: SignOptions): Promise<string> {
  const where = 'output of the sign command';
  const check = await checkSignatureFile(signed, options.keyring, options.now(), where);
  const literal = check.status === 'valid' ? check.payload : check.facts.literal;
  if (Buffer.compare(Buffer.from(literal), Buffer.from(payload)) !== 0) throw new DaemonError('SIGN_FAILED', `${where}: expected a signed message of the payload, got literal data of ${literal.length} other bytes`);
  if (check.status === 'valid') return check.certificate.fingerprint;
  if (check.facts.issuerFingerprint) return check.facts.issuerFingerprint;
  if (options.fingerprint?.endsWith(check.facts.issuerKeyId)) return options.fingerprint;
  throw new DaemonError('SIGN_FAILED', `${where}: the signature names key id ${check.facts.issuerKeyId.toUpperCase()} only; give --local-user <fingerprint> or configure the signer's certificate`);
}

/**
 * The file in `dir` already signed by `fingerprint`, if any: its issuer (a subkey resolved
 * through the keyring) is that primary key. Like sign.sh, the signature is not verified here.
 */
async function signedBy(dir: string, fingerprint: string, keyring: Keyring): Promise<string | undefined> {
  const certificate = keyring.certificates.find((c) => c.fingerprint === fingerprint);
  for (const name of await signatureNames(dir)) {
    const file = join(dir, name);
    const facts = await readSignatureFile(await readCapped(file, file).catch(() => new Uint8Array()), file).catch(() => undefined);
    if (!facts) continue;
    if (facts.issuerFingerprint === fingerprint || fingerprint.endsWith(facts.issuerKeyId) || (certificate && keyWithId(certificate.key, facts.issuerKeyId))) return file;
  }
  return undefined;
}

async function signatureNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => {
    try {
      parseSignatureFileName(name, dir);
      return true;
    } catch {
      return false;
    }
  });
}

/** Links a temporary file to the first free signature-<n> (n from 1: readers stop at the first gap). */
async function writeNext(dir: string, bytes: Uint8Array): Promise<string> {
  const temp = join(dir, `.signature.tmp-${process.pid}`);
  await writeFile(temp, bytes, { mode: 0o644 });
  try {
    const taken = new Set((await signatureNames(dir)).map((name) => parseSignatureFileName(name, dir)));
    for (let n = 1; ; n += 1) {
      if (taken.has(n)) continue;
      const file = join(dir, `signature-${n}`);
      try {
        await link(temp, file);
        return file;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
  } finally {
    await unlink(temp);
  }
}

/** Runs the sign command with the payload on stdin; its stdout (capped) is the signed message. */
function runSign(command: readonly string[], payload: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let size = 0;
    let stderr = '';
    const fail = (what: string) => reject(new DaemonError('SIGN_FAILED', `sign command ${JSON.stringify(command.join(' '))}: ${what}${stderr ? `: ${stderr.trim()}` : ''}`));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(`no signature within ${SIGN_TIMEOUT_MS / 1000} s`);
    }, SIGN_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_SIGNATURE_BYTES) child.kill('SIGKILL');
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_STDERR) stderr += chunk.toString('utf8').slice(0, MAX_STDERR - stderr.length);
    });
    child.stdin.on('error', () => undefined);
    child.on('error', (error) => {
      clearTimeout(timer);
      fail(`cannot run (${error.message})`);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (size > MAX_SIGNATURE_BYTES) fail(`expected at most ${MAX_SIGNATURE_BYTES} bytes on stdout, got more`);
      else if (code !== 0) fail(`expected exit 0, got ${code ?? signal}`);
      else resolve(new Uint8Array(Buffer.concat(out)));
    });
    child.stdin.end(payload);
  });
}
