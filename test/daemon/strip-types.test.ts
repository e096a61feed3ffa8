/**
 * The installed launcher's type-stripping hook (daemon/bin/strip-types.js), run as the package
 * lies after `npm install -g` (under node_modules): a .ts file whose text has a pre-stripped
 * file of its sha256 (daemon/bin/stripped/, written by prestrip.js at `npm pack`) runs that
 * file; one edited since, with no file of its new hash, is stripped at load as before.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.ts';

const hook = fileURLToPath(new URL('../../daemon/bin/strip-types.js', import.meta.url));

/** A package root under node_modules with the hook and `main.ts`; what running main.ts prints. */
function installed(main: string, prestripped?: { of: string; js: string }): string {
  const root = join(tempDir('stagex-strip'), 'lib', 'node_modules', 'stagex-node');
  mkdirSync(join(root, 'daemon', 'bin', 'stripped'), { recursive: true });
  copyFileSync(hook, join(root, 'daemon', 'bin', 'strip-types.js'));
  writeFileSync(join(root, 'main.ts'), main);
  if (prestripped) writeFileSync(join(root, 'daemon', 'bin', 'stripped', `${createHash('sha256').update(prestripped.of).digest('hex')}.js`), prestripped.js);
  const run = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--import', join(root, 'daemon', 'bin', 'strip-types.js'), join(root, 'main.ts')], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trim();
}

describe('strip-types.js under node_modules', () => {
  const main = "const where: string = 'stripped at load';\nconsole.log(where);\n";
  it('runs the pre-stripped file named by the sha256 of the .ts text', () => {
    assert.equal(installed(main, { of: main, js: "console.log('pre-stripped');\n" }), 'pre-stripped');
  });
  it('strips a file edited since packing (no pre-stripped file of its text) at load', () => {
    assert.equal(installed(main, { of: main.replace('load', 'pack'), js: "console.log('stale');\n" }), 'stripped at load');
  });
});
