/**
 * The local API's token file (DESIGN section 8): the daemon writes a fresh random token at each
 * start to `api.token` beside its config (mode 0600, in a directory only this user can change)
 * and removes it on stop. Holding it is what makes a CLI of this config and its daemon known to
 * each other: the CLI proves it to the daemon and the daemon proves it back (api-auth.ts).
 * No token file means no daemon of this config runs (or one died: see readApiToken).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DaemonError } from './errors.ts';
import { requirePrivateDir } from './private-dir.ts';
import { kindOf } from './regular-file.ts';

export const API_TOKEN_FILE = 'api.token';

/** 32 random bytes, hex. */
const TOKEN = /^[0-9a-f]{64}$/;

export function apiTokenPath(configDir: string): string {
  return join(configDir, API_TOKEN_FILE);
}

export interface ApiToken {
  token: string;
  /** Removes the file, if it still holds this token (another start may have replaced it). */
  remove(): Promise<void>;
}

/**
 * Writes a fresh token to `<configDir>/api.token`. Call it while holding the store lock: a file
 * already there is then a dead daemon's of this config, removed if this user owns it (refused
 * otherwise). The token is written to `api.token.new`, created exclusively (O_EXCL, no symlink
 * followed) with 0600, and renamed into place: a start killed at any moment leaves the token
 * file whole or absent, never empty (a CLI would refuse an empty one until the next start).
 */
export async function writeApiToken(configDir: string): Promise<ApiToken> {
  const path = apiTokenPath(configDir);
  const staging = `${path}.new`;
  await requirePrivateDir(configDir, 0o022, `api token ${path}`);
  await removeDeadFile(path);
  await removeDeadFile(staging);
  const token = randomBytes(32).toString('hex');
  const handle = await open(staging, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await handle.writeFile(`${token}\n`);
  } finally {
    await handle.close();
  }
  await rename(staging, path);
  return {
    token,
    async remove() {
      const held = await readFile(path, 'utf8').catch(() => undefined);
      if (held?.trim() === token) await unlink(path);
    },
  };
}

/** Removes a dead daemon's file at `path`, if this user owns it; anything else there is refused. */
async function removeDeadFile(path: string): Promise<void> {
  const stale = await lstat(path).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)));
  if (!stale) return;
  if (!stale.isFile() || stale.uid !== process.getuid!()) {
    throw new DaemonError('INSECURE_DIR', `api token ${path}: expected nothing there or a regular file of this user (a dead daemon's), got ${stale.isFile() ? `a file of uid ${stale.uid}` : kindOf(stale)}; remove it`);
  }
  await unlink(path);
}

/**
 * The token of this config's daemon, or undefined when the file is absent (no daemon of this
 * config runs). A file another user owns, readable by others or not holding a token is refused
 * (API_UNAUTHENTICATED): nothing it would let us believe can be attributed to our daemon. A
 * dead daemon's file is still read; its token only fails to prove anything (api-auth.ts).
 */
export async function readApiToken(configDir: string): Promise<string | undefined> {
  const path = apiTokenPath(configDir);
  const info = await lstat(path).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)));
  if (info === undefined) return undefined;
  if (!info.isFile() || info.uid !== process.getuid!() || (info.mode & 0o077) !== 0) {
    throw new DaemonError('API_UNAUTHENTICATED', `api token ${path}: expected a regular file of this user with mode 0600, got ${info.isFile() ? `uid ${info.uid} mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}` : kindOf(info)}`);
  }
  const token = (await readFile(path, 'utf8')).trim();
  if (!TOKEN.test(token)) throw new DaemonError('API_UNAUTHENTICATED', `api token ${path}: expected 64 lowercase hex characters, got ${token.length} characters of something else`);
  return token;
}
