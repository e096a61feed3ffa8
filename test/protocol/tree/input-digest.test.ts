import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { resolveTree, type PackageInput } from '../../../protocol/tree/graph.ts';
import { dependencyPlatform, inputDigests } from '../../../protocol/tree/input-digest.ts';
import { fakePackage, HASH_A, HASH_B, sha256 } from '../../helpers/tree.ts';

const SOURCES = `[sources.s2]\nhash = "${HASH_B}"\nfile = "s2"\nmirrors = ["m"]\n[sources.s1]\nhash = "${HASH_A}"\nfile = "s1"\nmirrors = ["m"]\n`;

function digestsOf(inputs: PackageInput[]) {
  const tree = resolveTree(inputs);
  assert.deepEqual(tree.errors, []);
  return inputDigests(tree);
}

const base = () => [
  fakePackage('bootstrap-stage0', { meta: 'platforms = ["linux/386"]' }),
  { ...fakePackage('core-a', { deps: ['bootstrap-stage0'], extra: SOURCES, files: { 'patches/fix.patch': 'diff' } }), executables: ['patches/fix.patch'] },
  fakePackage('core-b', { deps: ['core-a'] }),
  fakePackage('core-c', { deps: ['bootstrap-stage0'] }),
  fakePackage('user-d', { deps: ['core-b'], meta: 'version = "2"\nplatforms = ["linux/amd64", "linux/arm64"]' }),
];

describe('inputDigests', () => {
  it('is the sha256 of the canonical JSON of exactly the fields of DESIGN section 2', () => {
    const inputs = base();
    const digests = digestsOf(inputs);
    const stage0 = digests.get('bootstrap-stage0')!.get('linux/386')!;
    const a = inputs[1]!;
    const json = `{"deps":{"bootstrap-stage0":"${stage0}"},"files":{"Containerfile":{"mode":"0644","sha256":"${sha256(a.containerfile)}"},"package.toml":{"mode":"0644","sha256":"${sha256(a.toml)}"},"patches/fix.patch":{"mode":"0755","sha256":"${sha256('diff')}"}},"name":"core-a","platform":"linux/amd64","sources":["${HASH_A}","${HASH_B}"],"target":"package","version":"1.0"}`;
    assert.equal(digests.get('core-a')!.get('linux/amd64'), createHash('sha256').update(json).digest('hex'));
  });

  it('writes null for a missing version and for the last-stage target', () => {
    const input = fakePackage('pallet-x', { meta: '', containerfile: 'FROM scratch\n' });
    const json = `{"deps":{},"files":{"Containerfile":{"mode":"0644","sha256":"${sha256(input.containerfile)}"},"package.toml":{"mode":"0644","sha256":"${sha256(input.toml)}"}},"name":"pallet-x","platform":"linux/amd64","sources":[],"target":null,"version":null}`;
    assert.equal(digestsOf([input]).get('pallet-x')!.get('linux/amd64'), createHash('sha256').update(json).digest('hex'));
  });

  it('is deterministic and gives one digest per platform of an image', () => {
    const one = digestsOf(base());
    assert.deepEqual(digestsOf(base().reverse()), one);
    assert.deepEqual([...one.get('user-d')!.keys()], ['linux/amd64', 'linux/arm64']);
    assert.notEqual(one.get('user-d')!.get('linux/amd64'), one.get('user-d')!.get('linux/arm64'));
  });

  it('changes for a package and all its dependants when one of its files changes, and only for them', () => {
    const before = digestsOf(base());
    const changed = base();
    changed[1] = fakePackage('core-a', { deps: ['bootstrap-stage0'], extra: SOURCES, files: { 'patches/fix.patch': 'diff2' } });
    const after = digestsOf(changed);
    const moved = [...after].filter(([name, byPlatform]) => [...byPlatform].some(([p, d]) => before.get(name)!.get(p) !== d)).map(([name]) => name);
    assert.deepEqual(moved, ['core-a', 'core-b', 'user-d']);
  });

  it('changes when only a file\'s mode does: the mode reaches the image (a hex0-seed must stay executable)', () => {
    const seed = (executables: string[]) => digestsOf([{ ...fakePackage('bootstrap-stage0', { files: { 'hex0-seed': 'seed' } }), executables }]).get('bootstrap-stage0')!.get('linux/amd64');
    assert.notEqual(seed(['hex0-seed']), seed([]));
  });

  it('changes with a source hash, a version given by version_from, or the target', () => {
    const go = (version: string) => [fakePackage('core-go', { meta: `version = "${version}"` }), fakePackage('pallet-go', { meta: 'version_from = "core-go"' })];
    assert.notEqual(digestsOf(go('1')).get('pallet-go')!.get('linux/amd64'), digestsOf(go('2')).get('pallet-go')!.get('linux/amd64'));
    const withHash = (hash: string) => [fakePackage('core-a', { extra: `[sources.s]\nhash = "${hash}"\nfile = "s"\nmirrors = ["m"]\n` })];
    const a1 = digestsOf(withHash(HASH_A)).get('core-a');
    const b1 = digestsOf(withHash(HASH_B)).get('core-a');
    assert.notDeepEqual(a1, b1);
  });

  it('uses a dependency digest of the same platform, or of its first one', () => {
    const digests = digestsOf(base());
    const tree = resolveTree(base());
    assert.equal(dependencyPlatform(tree.images.get('user-d')!, 'linux/arm64'), 'linux/arm64');
    assert.equal(dependencyPlatform(tree.images.get('bootstrap-stage0')!, 'linux/amd64'), 'linux/386');
    assert.deepEqual([...digests.get('bootstrap-stage0')!.keys()], ['linux/386']);
  });

  it('computes only the closure of the requested images', () => {
    assert.deepEqual([...inputDigests(resolveTree(base()), ['core-b']).keys()], ['bootstrap-stage0', 'core-a', 'core-b']);
  });
});
