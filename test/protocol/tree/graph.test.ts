import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TreeError } from '../../../protocol/tree/errors.ts';
import { resolveTree } from '../../../protocol/tree/graph.ts';
import { fakePackage, HASH_A } from '../../helpers/tree.ts';

const problems = (errors: readonly TreeError[]) => errors.map((e) => [e.problem, e.code, e.file]);

describe('resolveTree', () => {
  it('makes one image per package, or one per subpackage sharing its dependencies', () => {
    const tree = resolveTree([
      fakePackage('core-a'),
      fakePackage('user-vim', {
        meta: 'version = "9"\nsubpackages = ["vim", "xxd"]',
        containerfile: 'FROM stagex/core-a AS build\nFROM scratch AS package-vim\nFROM scratch AS package-xxd\n',
      }),
    ]);
    assert.deepEqual(tree.errors, []);
    assert.deepEqual([...tree.images.keys()], ['core-a', 'user-vim', 'user-xxd']);
    assert.deepEqual(tree.images.get('user-xxd'), { name: 'user-xxd', package: 'user-vim', target: 'package-xxd', version: '9', platforms: ['linux/amd64'], dependencies: ['core-a'] });
    assert.deepEqual([...tree.packages.keys()], ['core-a', 'user-vim']);
  });

  it('resolves version_from by package id, by an image of a package, and along a chain', () => {
    const tree = resolveTree([
      fakePackage('core-go', { meta: 'version = "1.25.1"' }),
      fakePackage('core-multi', { meta: 'version = "3"\nsubpackages = ["one"]', containerfile: 'FROM scratch AS package-one\n' }),
      fakePackage('pallet-go', { meta: 'version_from = "core-go"' }),
      fakePackage('pallet-one', { meta: 'version_from = "core-one"' }),
      fakePackage('user-chain', { meta: 'version_from = "pallet-go"' }),
    ]);
    assert.deepEqual(tree.errors, []);
    assert.equal(tree.packages.get('pallet-go')!.version, '1.25.1');
    assert.equal(tree.packages.get('pallet-one')!.version, '3');
    assert.equal(tree.packages.get('user-chain')!.version, '1.25.1');
    assert.equal(tree.packages.get('pallet-go')!.buildArgs.VERSION, '1.25.1');
  });

  it('expands sources with the version version_from gives', () => {
    const tree = resolveTree([
      fakePackage('core-go', { meta: 'version = "2.0"' }),
      fakePackage('pallet-go', { meta: 'version_from = "core-go"', extra: `[sources.go]\nhash = "${HASH_A}"\nmirrors = ["https://h/go-{version}.tgz"]\n` }),
    ]);
    assert.equal(tree.packages.get('pallet-go')!.sources[0]!.file, 'go-2.0.tgz');
  });

  it('keeps a package without version as version null', () => {
    const tree = resolveTree([fakePackage('core-filesystem', { meta: 'description = "fs"' })]);
    assert.equal(tree.images.get('core-filesystem')!.version, null);
  });

  it('rejects version_from naming nothing, a package without version, or a loop', () => {
    const tree = resolveTree([
      fakePackage('core-noversion', { meta: '' }),
      fakePackage('pallet-a', { meta: 'version_from = "core-missing"' }),
      fakePackage('pallet-b', { meta: 'version_from = "core-noversion"' }),
      fakePackage('pallet-c', { meta: 'version_from = "pallet-d"' }),
      fakePackage('pallet-d', { meta: 'version_from = "pallet-c"' }),
      fakePackage('user-e', { meta: 'version_from = "pallet-c"' }),
      fakePackage('user-ok'),
    ]);
    assert.deepEqual(problems(tree.errors), [
      ['version-from', 'BAD_TREE', 'packages/pallet/a/package.toml'],
      ['version-from', 'BAD_TREE', 'packages/pallet/b/package.toml'],
      ['version-from', 'BAD_TREE', 'packages/pallet/c/package.toml'],
      ['version-from', 'BAD_TREE', 'packages/pallet/d/package.toml'],
    ]);
    assert.deepEqual([...tree.images.keys()], ['core-noversion', 'user-ok']);
  });

  it('rejects a name that differs from its directory', () => {
    const input = { ...fakePackage('core-a'), toml: '[package]\nname = "b"\n' };
    assert.deepEqual(problems(resolveTree([input]).errors), [['name', 'BAD_PACKAGE', 'packages/core/a/package.toml']]);
  });

  it('rejects a Containerfile without FROM', () => {
    assert.deepEqual(problems(resolveTree([fakePackage('core-a', { containerfile: 'RUN true\n' })]).errors), [['containerfile', 'BAD_PACKAGE', 'packages/core/a/Containerfile']]);
  });

  it('rejects an unknown dependency, naming the Containerfile and line, and keeps the rest', () => {
    const tree = resolveTree([fakePackage('core-a'), fakePackage('core-b', { deps: ['core-a', 'core-nope'] }), fakePackage('user-c', { deps: ['core-b'] })]);
    assert.equal(tree.errors.length, 1);
    const [error] = tree.errors;
    assert.deepEqual([error!.problem, error!.code, error!.file, error!.line], ['unknown-dependency', 'BAD_TREE', 'packages/core/b/Containerfile', 3]);
    assert.deepEqual([...tree.images.keys()], ['core-a']);
    assert.deepEqual([...tree.packages.keys()], ['core-a']);
  });

  it('collects every error, one per cause: dependants of a broken package are left out silently', () => {
    const tree = resolveTree([
      fakePackage('core-a', { meta: 'version = ' }),
      fakePackage('core-b', { deps: ['core-a'] }),
      fakePackage('core-c', { extra: '[sources.c]\nmirrors = ["m"]\n' }),
      fakePackage('core-d', { deps: ['core-c'] }),
      fakePackage('core-e', { extra: `[sources.e]\nhash = "${HASH_A}"\nfile = "{nope}"\nmirrors = ["m"]\n` }),
      fakePackage('user-f', { deps: ['core-e', 'core-b'] }),
      fakePackage('user-g'),
    ]);
    assert.deepEqual(problems(tree.errors), [
      ['toml', 'BAD_PACKAGE', 'packages/core/a/package.toml'],
      ['field', 'BAD_PACKAGE', 'packages/core/c/package.toml'],
      ['template', 'BAD_PACKAGE', 'packages/core/e/package.toml'],
    ]);
    assert.equal(tree.errors[0]!.line, 3);
    assert.deepEqual([...tree.images.keys()], ['user-g']);
  });

  it('leaves out the dependants of a package that could not be read, reporting it once', () => {
    const unreadable = { stage: 'core' as const, name: 'a', error: new TreeError('file', 'packages/core/a/x', 'cannot read: EACCES') };
    const tree = resolveTree([unreadable, fakePackage('core-b', { deps: ['core-a'] }), fakePackage('core-c')]);
    assert.deepEqual(tree.errors, [unreadable.error]);
    assert.deepEqual([...tree.images.keys()], ['core-c']);
  });

  it('rejects a cycle, listing its path, and leaves out its members and their dependants', () => {
    const tree = resolveTree([
      fakePackage('core-a', { deps: ['core-c'] }),
      fakePackage('core-b', { deps: ['core-a'] }),
      fakePackage('core-c', { deps: ['core-b', 'core-x'] }),
      fakePackage('core-x'),
      fakePackage('user-d', { deps: ['core-a'] }),
    ]);
    assert.equal(tree.errors.length, 1);
    const [error] = tree.errors;
    assert.deepEqual([error!.problem, error!.code, error!.file], ['cycle', 'BAD_TREE', 'packages/core/a/Containerfile']);
    assert.deepEqual(error!.cycle, ['core-a', 'core-c', 'core-b', 'core-a']);
    assert.deepEqual([...tree.images.keys()], ['core-x']);
  });

  it('rejects a package whose Containerfile names one of its own images', () => {
    const tree = resolveTree([fakePackage('user-vim', { meta: 'subpackages = ["vim", "xxd"]', containerfile: 'FROM stagex/user-xxd AS build\nFROM scratch AS package-vim\nFROM scratch AS package-xxd\n' })]);
    assert.deepEqual(tree.errors.map((e) => e.cycle), [['user-xxd', 'user-xxd']]);
    assert.equal(tree.images.size, 0);
    assert.equal(tree.packages.size, 0);
  });

  it('rejects two packages making one image, keeping the first, without a second error for its dependants', () => {
    const tree = resolveTree([
      fakePackage('core-filesystem', { meta: 'subpackages = ["filesystem", "user-runtime"]', containerfile: 'FROM scratch AS package-filesystem\nFROM scratch AS package-user-runtime\n' }),
      fakePackage('core-user-runtime', { meta: 'subpackages = ["user-runtime", "other"]', containerfile: 'FROM scratch AS package-user-runtime\nFROM scratch AS package-other\n' }),
      fakePackage('user-x', { deps: ['core-other'] }),
    ]);
    assert.deepEqual(problems(tree.errors), [['duplicate-image', 'BAD_TREE', 'packages/core/user-runtime/package.toml']]);
    assert.deepEqual([...tree.images.keys()], ['core-filesystem', 'core-user-runtime']);
    assert.equal(tree.images.get('core-user-runtime')!.package, 'core-filesystem');
  });

  it('does not depend on the order of its inputs', () => {
    const inputs = [fakePackage('core-b', { deps: ['core-a'] }), fakePackage('core-a'), fakePackage('user-c', { deps: ['core-b'] })];
    const one = resolveTree(inputs);
    const two = resolveTree([...inputs].reverse());
    assert.deepEqual([...two.images], [...one.images]);
    assert.deepEqual([...two.packages], [...one.packages]);
  });
});
