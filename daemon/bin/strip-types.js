/**
 * Loaded with `--import` by the installed launcher (daemon/bin/stagex-node): Node strips
 * TypeScript types itself except under node_modules (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING),
 * which is where `npm install -g` puts this package. This hook strips this package's own .ts
 * files the way Node would (module.stripTypeScriptTypes, mode strip); everything else, the
 * dependencies included, loads as usual. Plain JavaScript: it must load before any hook exists.
 */
import { readFileSync } from 'node:fs';
import { registerHooks, stripTypeScriptTypes } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = new URL('../../', import.meta.url).href;
const dependencies = `${root}node_modules/`;

registerHooks({
  load(url, context, nextLoad) {
    if (!url.startsWith(root) || url.startsWith(dependencies) || !url.endsWith('.ts')) return nextLoad(url, context);
    const source = stripTypeScriptTypes(readFileSync(fileURLToPath(url), 'utf8'), { mode: 'strip', sourceUrl: url });
    return { format: 'module', source, shortCircuit: true };
  },
});
