/**
 * The status page as served: assets/status.html with assets/status.js and the graph layout
 * (layout.ts, the very function the tests check) inlined, so it is one document with no external
 * asset, and a Content-Security-Policy that lets only that script run and only this origin be read.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { layoutGraph } from './layout.ts';

const SCRIPT_MARK = '<!--SCRIPT-->';

let built: { html: string; csp: string } | undefined;

export function statusPage(): { html: string; csp: string } {
  built ??= build();
  return built;
}

function build(): { html: string; csp: string } {
  const template = readFileSync(new URL('./assets/status.html', import.meta.url), 'utf8');
  const script = `\n'use strict';\nconst layoutGraph = ${layoutGraph.toString()};\n${readFileSync(new URL('./assets/status.js', import.meta.url), 'utf8')}`;
  if (!template.includes(SCRIPT_MARK)) throw new Error(`assets/status.html: expected the mark ${SCRIPT_MARK}`);
  const hash = createHash('sha256').update(script).digest('base64');
  return {
    html: template.replace(SCRIPT_MARK, () => `<script>${script}</script>`),
    csp: `default-src 'none'; script-src 'sha256-${hash}'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  };
}
