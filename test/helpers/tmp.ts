/**
 * Temporary directories removed when the test process ends; kept when STAGEX_KEEP_TMP=1 (to
 * read a failed run's daemon logs and stores).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
process.on('exit', () => {
  if (process.env.STAGEX_KEEP_TMP === '1') console.error(`kept temporary directories: ${made.join(' ')}`);
  else made.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});

export function tempDir(label = 'stagex-test'): string {
  const dir = mkdtempSync(join(tmpdir(), `${label}-`));
  made.push(dir);
  return dir;
}
