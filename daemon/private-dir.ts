/**
 * A directory only this user can change (DESIGN section 8): what makes the API token file and
 * the API socket in it the daemon's own. A directory another user owns, or one group or others
 * may write to, lets them replace the token or the socket under us, so it is refused.
 */
import { lstat } from 'node:fs/promises';
import { DaemonError } from './errors.ts';

/**
 * Refuses (INSECURE_DIR) a `dir` that is not a directory owned by this user or has any of the
 * `forbidden` mode bits: 0o022 where only writes matter (the token file's directory), 0o077
 * where reaching in at all authenticates (a socket's directory must be 0700).
 */
export async function requirePrivateDir(dir: string, forbidden: number, what: string): Promise<void> {
  const info = await lstat(dir).catch((error: NodeJS.ErrnoException) => {
    throw new DaemonError('INSECURE_DIR', `${what}: directory ${dir}: cannot inspect (${error.code ?? error.message})`);
  });
  if (!info.isDirectory()) throw new DaemonError('INSECURE_DIR', `${what}: ${dir}: expected a directory, got something else`);
  if (info.uid !== process.getuid!()) throw new DaemonError('INSECURE_DIR', `${what}: directory ${dir}: expected one owned by this user (uid ${process.getuid!()}), got uid ${info.uid}`);
  const mode = info.mode & 0o777;
  if ((mode & forbidden) !== 0) {
    throw new DaemonError('INSECURE_DIR', `${what}: directory ${dir}: expected none of the mode bits ${octal(forbidden)}, got mode ${octal(mode)}; chmod it`);
  }
}

const octal = (mode: number) => mode.toString(8).padStart(4, '0');
