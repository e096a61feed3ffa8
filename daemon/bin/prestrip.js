/**
 * Run by `npm pack` (prepack): writes the JavaScript of every TypeScript file the package ships,
 * types stripped as strip-types.js would, to daemon/bin/stripped/<sha256 of the .ts text>.js, so
 * that an installed stagex-node does not start the type stripper (~0.1 s of CPU per process,
 * with or without Node's compile cache). Named by content, a stripped file can never stand for
 * another version of its source: one that does not match is stripped at load time as before.
 * `--clean` (postpack) removes the directory again. Plain JavaScript, for the `node` dependency's Node 24.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const out = fileURLToPath(new URL('./stripped/', import.meta.url));
/** The shipped directories holding TypeScript (package.json "files"). */
const SHIPPED = ['daemon', 'protocol', 'store', 'canonical'];

rmSync(out, { recursive: true, force: true });
if (!process.argv.includes('--clean')) {
  mkdirSync(out);
  let count = 0;
  for (const dir of SHIPPED) {
    for (const file of readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue;
      const text = readFileSync(join(root, dir, file), 'utf8');
      writeFileSync(join(out, `${createHash('sha256').update(text).digest('hex')}.js`), stripTypeScriptTypes(text, { mode: 'strip' }));
      count += 1;
    }
  }
  console.error(`prestrip: ${count} TypeScript files stripped into ${out}`);
}
