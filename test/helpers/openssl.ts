/**
 * OpenSSL 3 as an ed25519 signer nobody here wrote: keys it generates, signatures it makes over
 * raw bytes (`pkeyutl -sign -rawin`). Tests skip, saying why, without it.
 */
import { execFile } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** false when OpenSSL 3 runs here, else why the tests skip. */
export const noOpenssl: false | string = await run('openssl', ['version']).then(
  ({ stdout }) => (/^OpenSSL 3\./.test(stdout) ? false : `openssl is ${stdout.trim()}; expected OpenSSL 3 (pkeyutl -rawin signs raw ed25519)`),
  () => 'no openssl on PATH (apt-get install openssl)',
);

/** A new ed25519 key file written by OpenSSL, and its raw public key as OpenSSL exports it. */
export async function opensslKey(dir: string, name: string): Promise<{ file: string; publicKey: Uint8Array }> {
  const file = join(dir, `${name}.pem`);
  await run('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', file]);
  const { stdout } = await run('openssl', ['pkey', '-in', file, '-pubout', '-outform', 'DER'], { encoding: 'buffer' });
  return { file, publicKey: new Uint8Array(stdout.subarray(stdout.length - 32)) };
}

/** Signs a file's bytes with OpenSSL: the raw 64-byte signature. */
export async function opensslSign(key: string, file: string): Promise<Uint8Array> {
  const { stdout } = await run('openssl', ['pkeyutl', '-sign', '-inkey', key, '-rawin', '-in', file], { encoding: 'buffer' });
  return new Uint8Array(stdout);
}

/**
 * A signing command: stdin to a temporary file (OpenSSL 3.0's -rawin must know the input's size,
 * which a pipe has not), then `openssl pkeyutl -sign -rawin`, its output through `filter`.
 */
export async function opensslSignCommand(dir: string, filter = 'cat'): Promise<string> {
  const script = join(dir, `sign-${filter.replace(/[^a-z0-9]/gi, '')}.sh`);
  await writeFile(script, [
    '#!/bin/sh',
    'set -e',
    't=$(mktemp)',
    'trap \'rm -f "$t"\' EXIT',
    'cat > "$t"',
    `openssl pkeyutl -sign -inkey "$1" -rawin -in "$t" | ${filter}`,
    '',
  ].join('\n'));
  await chmod(script, 0o755);
  return script;
}
