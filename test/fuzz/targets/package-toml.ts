/**
 * package.toml (protocol/tree/package.ts): parsePackageToml, then resolveSources and buildArgs
 * as the tree reader calls them. Inputs: real StageX package.toml files and small ones of our
 * own, edited as text (bytes) and as TOML values (fields dropped, retyped, renamed, given huge
 * numbers, unicode, deep arrays) written back as valid TOML, plus text nested past smol-toml's
 * depth limit. An accepted file has a valid name, platforms and lowercase source hashes.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { buildArgs, NAME, parsePackageToml, resolveSources } from '../../../protocol/tree/package.ts';
import { platformSchema } from '../../../protocol/statement.ts';
import { mutatedJson, mutatedText, type FuzzTarget } from '../harness.ts';
import { treePackageTomls } from './stagex-tree.ts';

const FILE = 'packages/core/fuzz/package.toml';

const own = [
  '[package]\nname = "fuzz"\nversion = "1.2.3"\nlicense = "MIT"\nplatforms = ["linux/amd64", "linux/arm64"]\n\n[sources.fuzz]\nhash = "' + 'AB'.repeat(32) + '"\nmirrors = ["https://example.org/fuzz-{version}.tar.{format}"]\nformat = "gz"\n',
  '[package]\nname = "doc"\nversion_from = "core-fuzz"\nsubpackages = ["doc", "dev"]\n',
  '[package]\nname = "src"\nversion = "2.0"\n[sources.a]\nhash = "' + '0'.repeat(64) + '"\nfile = "a-{version_under}.tgz"\nmirrors = ["https://x/{file}", "https://y/{version_major}/{file}"]\nversion = "3.1.4"\ngit_sha = "abc"\n',
];
const samples = [...own, ...treePackageTomls];
const values = samples.map((s) => parseToml(s) as unknown);

/** Edited values as TOML text: valid TOML with wrong types. Values TOML cannot hold (null) stay JSON text. */
const retyped = mutatedJson(values).map((json) => {
  try {
    return stringifyToml(JSON.parse(json));
  } catch {
    return json;
  }
});

const deep = fc.tuple(fc.integer({ min: 900, max: 5000 }), fc.constantFrom('[', '{a=')).map(([depth, open]) =>
  `[package]\nname = ${open.repeat(depth)}${open === '[' ? ']'.repeat(depth) : `1${'}'.repeat(depth)}`}\n`);

export const packageTomlTarget: FuzzTarget<string> = {
  name: 'package.toml',
  // Byte edits mostly break the TOML itself; edited values reach the schema and the templates.
  arbitrary: fc.oneof({ arbitrary: mutatedText(samples), weight: 3 }, { arbitrary: retyped, weight: 5 }, { arbitrary: deep, weight: 1 }, { arbitrary: fc.string({ unit: 'grapheme', maxLength: 200 }), weight: 1 }),
  decode(text) {
    const toml = parsePackageToml(text, FILE);
    const sources = resolveSources(toml, toml.version ?? null, FILE);
    return { toml, sources, args: buildArgs(toml.version ?? null, sources) };
  },
  codes: ['BAD_PACKAGE'],
  where: FILE,
  check(value) {
    const { toml, sources } = value as { toml: ReturnType<typeof parsePackageToml>; sources: ReturnType<typeof resolveSources> };
    assert.match(toml.name, NAME);
    for (const platform of toml.platforms) platformSchema.parse(platform);
    for (const sub of toml.subpackages) assert.match(sub, NAME);
    for (const source of sources) {
      assert.match(source.hash, /^[0-9a-f]{64}$/);
      assert.ok(source.mirrors.length > 0 && source.file !== '');
    }
  },
};
