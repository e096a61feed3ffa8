/**
 * Loaded with `--import` by the installed launcher (daemon/bin/stagex-node): Node strips
 * TypeScript types itself except under node_modules (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING),
 * which is where `npm install -g` puts this package. This hook strips this package's own .ts
 * files the way Node would (module.stripTypeScriptTypes, mode strip); everything else, the
 * dependencies included, loads as usual. A published package carries each file already
 * stripped (daemon/bin/stripped/<sha256 of the .ts text>.js, written by prestrip.js at
 * `npm pack`): used when its name matches the text read, so the stripper (~0.1 s of CPU, which
 * Node's compile cache does not save for hooked sources) never starts. Outside node_modules
 * (a development tree) no hook is registered. Plain JavaScript: it must load before any hook
 * exists.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { registerHooks, stripTypeScriptTypes } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = new URL('../../', import.meta.url).href;
const dependencies = `${root}node_modules/`;
const stripped = new URL('./stripped/', import.meta.url);

/** The stripped JavaScript of `text` written at pack time, or undefined (a file edited since). */
function prestripped(text) {
  try {
    return readFileSync(new URL(`${createHash('sha256').update(text).digest('hex')}.js`, stripped), 'utf8');
  } catch {
    return undefined;
  }
}

// In a development tree (not under node_modules) Node strips the types itself, and its compile
// cache keeps the result between runs: no hook then.
if (root.includes('/node_modules/')) registerHooks({
  load(url, context, nextLoad) {
    if (!url.startsWith(root) || url.startsWith(dependencies) || !url.endsWith('.ts')) return nextLoad(url, context);
    const text = readFileSync(fileURLToPath(url), 'utf8');
    const source = prestripped(text) ?? stripTypeScriptTypes(text, { mode: 'strip', sourceUrl: url });
    return { format: 'module', source, shortCircuit: true };
  },
});
