import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTree, type LoadedTree } from '../../daemon/tree.ts';
import { DaemonError } from '../../daemon/errors.ts';
import { TreeError } from '../../protocol/tree/errors.ts';
import { inputDigests } from '../../protocol/tree/input-digest.ts';
import { buildOrder, dependencyClosure } from '../../protocol/tree/order.ts';
import { skipWithoutTree, STAGEX_TREE } from '../helpers/shared.ts';
import { tempDir } from '../helpers/tmp.ts';
import { sha256 } from '../helpers/tree.ts';

/** Writes `packages/...` files into a fresh directory. */
function writeTree(files: Record<string, string>): string {
  const dir = tempDir('stagex-tree');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const TOML = (name: string, more = 'version = "1"') => `[package]\nname = "${name}"\n${more}\n`;
const CF = (...deps: string[]) => `FROM scratch AS build\n${deps.map((d) => `COPY --from=stagex/${d} . /\n`).join('')}FROM scratch AS package\n`;

describe('loadTree', () => {
  it('finds exactly the directories holding both package.toml and Containerfile', async () => {
    const dir = writeTree({
      'packages/README.md': 'not a stage',
      'packages/core/a/package.toml': TOML('a'),
      'packages/core/a/Containerfile': CF(),
      'packages/user/backup/package.toml~': TOML('backup'),
      'packages/user/backup/Containerfile': CF(),
      'packages/user/only-toml/package.toml': TOML('only-toml'),
      'packages/user/only-cf/Containerfile': CF(),
      'packages/user/nested/sub/package.toml': TOML('nested'),
      'packages/user/nested/sub/Containerfile': CF(),
      'packages/extra/x/package.toml': TOML('x'),
      'packages/extra/x/Containerfile': CF(),
    });
    const tree = await loadTree(dir);
    assert.deepEqual(tree.errors, []);
    assert.deepEqual([...tree.images.keys()], ['core-a']);
    assert.deepEqual(tree.ignored, ['packages/user/backup', 'packages/user/nested', 'packages/user/only-cf', 'packages/user/only-toml']);
  });

  it('hashes every file by relative posix path, leaving out fetch/', async () => {
    const dir = writeTree({
      'packages/core/a/package.toml': TOML('a'),
      'packages/core/a/Containerfile': CF(),
      'packages/core/a/patches/one.patch': 'p1',
      'packages/core/a/fetch/a-1.tar.gz': 'sources are covered by their hashes',
      'packages/core/a/sub/fetch/kept': 'only the top-level fetch/ is StageX’s',
    });
    const tree = await loadTree(dir);
    assert.deepEqual(tree.packages.get('core-a')!.files, {
      Containerfile: sha256(CF()),
      'package.toml': sha256(TOML('a')),
      'patches/one.patch': sha256('p1'),
      'sub/fetch/kept': sha256('only the top-level fetch/ is StageX’s'),
    });
  });

  it('collects every error, each naming its file, with the TOML line', async () => {
    const dir = writeTree({
      'packages/core/bad/package.toml': '[package]\nname = "bad"\nversion = \n',
      'packages/core/bad/Containerfile': CF(),
      'packages/core/nohash/package.toml': `${TOML('nohash')}[sources.x]\nmirrors = ["m"]\n`,
      'packages/core/nohash/Containerfile': CF(),
      'packages/core/dep/package.toml': TOML('dep'),
      'packages/core/dep/Containerfile': CF('core-bad'),
      'packages/user/unknown/package.toml': TOML('unknown'),
      'packages/user/unknown/Containerfile': CF('core-missing'),
      'packages/user/good/package.toml': TOML('good'),
      'packages/user/good/Containerfile': CF(),
    });
    const tree = await loadTree(dir);
    assert.deepEqual(tree.errors.map((e) => [e.problem, e.file, e.line]), [
      ['toml', join(dir, 'packages/core/bad/package.toml'), 3],
      ['field', join(dir, 'packages/core/nohash/package.toml'), undefined],
      ['unknown-dependency', join(dir, 'packages/user/unknown/Containerfile'), 2],
    ]);
    assert.ok(tree.errors.every((e) => e instanceof TreeError));
    assert.deepEqual([...tree.images.keys()], ['user-good']);
  });

  it('refuses a symbolic link in a package directory, naming it', async () => {
    const dir = writeTree({ 'packages/core/a/package.toml': TOML('a'), 'packages/core/a/Containerfile': CF() });
    symlinkSync('/etc/hostname', join(dir, 'packages/core/a/link'));
    const tree = await loadTree(dir);
    assert.deepEqual(tree.errors.map((e) => [e.problem, e.code, e.file]), [['file', 'BAD_PACKAGE', join(dir, 'packages/core/a/link')]]);
    assert.equal(tree.images.size, 0);
  });

  it('fails with NOT_FOUND when there is no packages/ directory', async () => {
    await assert.rejects(loadTree(tempDir('stagex-empty')), (error: unknown) => error instanceof DaemonError && error.code === 'NOT_FOUND');
  });
});

describe('loadTree on StageX 2025.10.0', { skip: skipWithoutTree }, () => {
  let loaded: Promise<LoadedTree> | undefined;
  const real = () => (loaded ??= loadTree(STAGEX_TREE));

  it('makes exactly the images of digests/*.txt, with no error', async () => {
    const tree = await real();
    assert.deepEqual(tree.errors, []);
    const listed = readdirSync(join(STAGEX_TREE, 'digests')).flatMap((f) => readFileSync(join(STAGEX_TREE, 'digests', f), 'utf8').trim().split('\n').map((l) => l.split(/\s+/)[1]!));
    assert.equal(listed.length, 433);
    assert.deepEqual([...tree.images.keys()], [...listed].sort());
    assert.equal(tree.packages.size, 418);
    assert.deepEqual(tree.ignored, ['packages/user/glu', 'packages/user/libdrm', 'packages/user/libva', 'packages/user/mesa']);
  });

  it('has every dependency edge the Containerfiles name', async () => {
    const tree = await real();
    const literal = /^(?:FROM (?:--platform=\S+ )?|COPY --from=)stagex\/([^\s:@]+)/;
    let edges = 0;
    for (const image of tree.images.values()) {
      const pkg = tree.packages.get(image.package)!;
      const text = readFileSync(join(pkg.dir, 'Containerfile'), 'utf8');
      const named = [...new Set(text.split('\n').map((l) => literal.exec(l)?.[1]).filter((d) => d !== undefined))].sort();
      assert.deepEqual(image.dependencies, named, image.name);
      edges += named.length;
    }
    assert.ok(edges > 3000, `expected ~3100 edges, got ${edges}`);
    assert.deepEqual(tree.images.get('bootstrap-stage3')!.dependencies, ['bootstrap-stage2']);
    assert.deepEqual(tree.images.get('user-xxd')!.dependencies, tree.images.get('user-vim')!.dependencies);
  });

  it('resolves versions, version_from included', async () => {
    const tree = await real();
    const version = (id: string) => tree.packages.get(id)!.version;
    const written = (stage: string, name: string) => /^version\s*=\s*"([^"]+)"/m.exec(readFileSync(join(STAGEX_TREE, 'packages', stage, name, 'package.toml'), 'utf8'))![1];
    for (const name of ['go', 'lua', 'luarocks', 'python', 'rust']) {
      assert.equal(version(`pallet-${name}`), written('core', name), `pallet-${name}`);
      assert.notEqual(version(`pallet-${name}`), null);
    }
    assert.equal(version('pallet-go'), '1.25.1');
    assert.equal(version('core-filesystem'), null);
    assert.equal(tree.images.get('user-linux-generic')!.target, 'package-linux-generic');
    assert.deepEqual(tree.images.get('bootstrap-stage0')!.platforms, ['linux/386']);
    assert.equal(tree.packages.get('core-zlib')!.sources[0]!.file, 'zlib-1.3.1.tar.gz');
  });

  it('orders every image after its dependencies', async () => {
    const tree = await real();
    const order = buildOrder(tree);
    assert.equal(order.length, 433);
    assert.deepEqual(order.slice(0, 4), ['bootstrap-stage0', 'bootstrap-stage1', 'bootstrap-stage2', 'bootstrap-stage3']);
    const at = new Map(order.map((name, i) => [name, i]));
    for (const image of tree.images.values()) for (const dep of image.dependencies) assert.ok(at.get(dep)! < at.get(image.name)!, `${dep} before ${image.name}`);
  });

  it('gives the same input digests on every load, one per image and platform', async () => {
    const one = inputDigests(await real());
    const two = inputDigests(await loadTree(STAGEX_TREE));
    assert.deepEqual(two, one);
    assert.equal([...one.values()].reduce((n, p) => n + p.size, 0), 433);
    assert.match(one.get('core-gcc')!.get('linux/amd64')!, /^[0-9a-f]{64}$/);
  });

  it('changes the input digest of a package and all its dependants, and only theirs, when one file changes', async () => {
    const full = await real();
    const subset = dependencyClosure(full, ['core-zlib', 'pallet-go']);
    const dir = tempDir('stagex-subset');
    for (const id of new Set([...subset].map((name) => full.images.get(name)!.package))) {
      const pkg = full.packages.get(id)!;
      cpSync(pkg.dir, join(dir, 'packages', pkg.stage, pkg.name), { recursive: true });
    }
    const copy = await loadTree(dir);
    assert.deepEqual(copy.errors, []);
    const before = inputDigests(copy);
    const fullDigests = inputDigests(full);
    for (const name of subset) assert.deepEqual(before.get(name), fullDigests.get(name), `${name}: the same digest wherever the tree is`);

    appendFileSync(join(dir, 'packages/core/make/Containerfile'), '# touched\n');
    const after = inputDigests(await loadTree(dir));
    const moved = [...after.keys()].filter((name) => after.get(name)!.get('linux/amd64') !== before.get(name)!.get('linux/amd64')).sort();
    const dependants = [...copy.images.keys()].filter((name) => dependencyClosure(copy, [name]).has('core-make')).sort();
    assert.deepEqual(moved, dependants);
    assert.ok(moved.includes('core-zlib') && moved.includes('pallet-go') && !moved.includes('core-busybox'), moved.join(' '));
  });
});
