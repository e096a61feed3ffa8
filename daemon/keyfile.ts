/**
 * Private key files (DESIGN section 4 and 8): PKCS#8 PEM, mode 0600, created exclusively and
 * refused when group or others may read them.
 */
import { open, readFile, stat } from 'node:fs/promises';
import { createSeedSigner, decodePrivateKeyPem, encodePrivateKeyPem, generateSeed, type Signer } from '../protocol/keys.ts';
import { DaemonError } from './errors.ts';

/** Writes a new key file; never overwrites one (EXISTS). */
export async function writeKeyFile(path: string, pem: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new DaemonError('EXISTS', `key file ${path} already exists; refusing to overwrite it`);
    throw error;
  }
  try {
    await handle.writeFile(pem, 'utf8');
  } finally {
    await handle.close();
  }
}

/** Reads a key file after checking that only its owner can read it (KEY_FILE_MODE). */
export async function readKeyFile(path: string): Promise<string> {
  let mode: number;
  try {
    mode = (await stat(path)).mode & 0o777;
  } catch (error) {
    throw new DaemonError('KEY_FILE', `key file ${path}: cannot read (${(error as NodeJS.ErrnoException).code})`);
  }
  if ((mode & 0o077) !== 0) {
    throw new DaemonError('KEY_FILE_MODE', `key file ${path}: mode ${mode.toString(8).padStart(4, '0')} lets group or others read it; expected 0600 (run: chmod 600 ${path})`);
  }
  return readFile(path, 'utf8');
}

/** Creates a fresh ed25519 signing key file and returns its signer. */
export async function createSigningKey(path: string): Promise<Signer> {
  const seed = generateSeed();
  await writeKeyFile(path, encodePrivateKeyPem(seed));
  return createSeedSigner(seed);
}

export async function loadSigningKey(path: string): Promise<Signer> {
  return createSeedSigner(decodePrivateKeyPem(await readKeyFile(path), path));
}
