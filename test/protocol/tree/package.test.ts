import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TreeError, type TreeProblem } from '../../../protocol/tree/errors.ts';
import { buildArgs, packageImages, parsePackageToml, resolveSources, type PackageToml } from '../../../protocol/tree/package.ts';
import { HASH_A, HASH_B } from '../../helpers/tree.ts';

const FILE = 'packages/core/x/package.toml';

function fails(problem: TreeProblem, run: () => unknown, line?: number): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof TreeError, `expected a TreeError, got ${String(error)}`);
    assert.equal(error.problem, problem);
    assert.equal(error.code, 'BAD_PACKAGE');
    assert.equal(error.file, FILE);
    if (line !== undefined) assert.equal(error.line, line);
    return true;
  });
}

function parse(text: string): PackageToml {
  return parsePackageToml(text, FILE);
}

const source = (body: string, id = 'x') => `[sources.${id}]\nhash = "${HASH_A}"\n${body}\n`;

describe('parsePackageToml', () => {
  it('reads a minimal package with the defaults', () => {
    assert.deepEqual(parse('[package]\nname = "x"\nversion = "1.0"\n'), {
      name: 'x',
      version: '1.0',
      licenses: [],
      subpackages: [],
      platforms: ['linux/amd64'],
      sources: [],
    });
  });
  it('accepts a package without license, version or description (core-filesystem)', () => {
    const toml = parse('[package]\nname = "x"\n');
    assert.equal(toml.version, undefined);
    assert.deepEqual(toml.licenses, []);
  });
  it('reads license and licenses, as a string or a list', () => {
    assert.deepEqual(parse('[package]\nname = "x"\nlicenses = "MPL-2.0"\n').licenses, ['MPL-2.0']);
    assert.deepEqual(parse('[package]\nname = "x"\nlicense = ["MIT", "ISC"]\n').licenses, ['MIT', 'ISC']);
  });
  it('drops descriptive fields of the wrong type instead of failing', () => {
    const toml = parse('[package]\nname = "x"\ndescription = 3\nwebsite = ["a"]\nlicense = 7\n');
    assert.equal(toml.description, undefined);
    assert.equal(toml.website, undefined);
    assert.deepEqual(toml.licenses, []);
  });
  it('keeps version_from for the tree to resolve', () => {
    assert.equal(parse('[package]\nname = "x"\nversion_from = "core-go"\n').versionFrom, 'core-go');
  });
  it('reads platforms and subpackages, dropping duplicates', () => {
    const toml = parse('[package]\nname = "x"\nplatforms = ["linux/386", "linux/386"]\nsubpackages = ["a", "b", "a"]\n');
    assert.deepEqual(toml.platforms, ['linux/386']);
    assert.deepEqual(toml.subpackages, ['a', 'b']);
  });
  it('treats empty platforms as the default, as StageX does', () => {
    assert.deepEqual(parse('[package]\nname = "x"\nplatforms = []\n').platforms, ['linux/amd64']);
  });
  it('reads sources in file order, hash lowercased, format defaulting to empty', () => {
    const toml = parse(`[package]\nname = "x"\n${source('mirrors = ["https://a/b.tgz"]', 'zz')}[sources.aa]\nhash = "${HASH_B.toUpperCase()}"\nmirrors = ["m"]\nversion = "2"\nformat = "zip"\nfile = "f"\ngit_sha = "abc"\n`);
    assert.deepEqual(toml.sources, [
      { id: 'zz', hash: HASH_A, mirrors: ['https://a/b.tgz'], format: '' },
      { id: 'aa', hash: HASH_B, mirrors: ['m'], version: '2', file: 'f', format: 'zip', gitSha: 'abc' },
    ]);
  });

  it('rejects unparseable TOML, naming the line', () => {
    fails('toml', () => parse('[package]\nname = "x"\nversion = \n'), 3);
    fails('toml', () => parse('[package]\nname = "x"\nname = "y"\n'), 3);
  });
  for (const [what, text] of [
    ['no [package] table', 'name = "x"\n'],
    ['no name', '[package]\nversion = "1"\n'],
    ['a name with a slash', '[package]\nname = "a/b"\n'],
    ['a numeric version', '[package]\nname = "x"\nversion = 1.5\n'],
    ['both version and version_from', '[package]\nname = "x"\nversion = "1"\nversion_from = "core-y"\n'],
    ['a malformed platform', '[package]\nname = "x"\nplatforms = ["amd64"]\n'],
    ['a source without hash', '[package]\nname = "x"\n[sources.x]\nmirrors = ["m"]\n'],
    ['a source without mirrors', `[package]\nname = "x"\n[sources.x]\nhash = "${HASH_A}"\n`],
    ['a source with no mirror', `[package]\nname = "x"\n${source('mirrors = []')}`],
    ['a hash that is not sha256 hex', '[package]\nname = "x"\n[sources.x]\nhash = "abc"\nmirrors = ["m"]\n'],
  ]) {
    it(`rejects ${what}`, () => fails('field', () => parse(text!)));
  }
});

describe('resolveSources', () => {
  const resolve = (body: string, version: string | null = '1.2.3-rc.1') => resolveSources(parse(`[package]\nname = "x"\n${source(body)}`), version, FILE)[0]!;

  it('expands file and mirrors, {file} in mirrors', () => {
    const s = resolve('format = "tar.xz"\nfile = "x-{version}.{format}"\nmirrors = ["https://h/v{version_major}/{version_major_minor}/{file}", "https://m/{version_strip_suffix}/{version_dash}/{version_under}"]');
    assert.equal(s.file, 'x-1.2.3-rc.1.tar.xz');
    assert.deepEqual(s.mirrors, ['https://h/v1/1.2/x-1.2.3-rc.1.tar.xz', 'https://m/1.2.3/1-2-3-rc-1/1_2_3-rc_1']);
    assert.equal(s.version, '1.2.3-rc.1');
  });
  it("uses the source's own version over the package's", () => {
    const s = resolve('version = "abc"\nfile = "x-{version}.tgz"\nmirrors = ["https://h/{version}.tgz"]');
    assert.equal(s.file, 'x-abc.tgz');
    assert.equal(s.version, 'abc');
  });
  it('takes the file name from the first mirror after expansion, query dropped', () => {
    assert.equal(resolve('mirrors = ["https://h/d/{version}.tar.gz?x=1", "https://o/other.tgz"]').file, '1.2.3-rc.1.tar.gz');
  });
  it('needs no version when nothing uses one', () => {
    const s = resolve('file = "f.tgz"\nmirrors = ["https://h/{file}"]', null);
    assert.deepEqual([s.version, s.file, s.mirrors], [null, 'f.tgz', ['https://h/f.tgz']]);
  });
  it('rejects a version placeholder when there is no version', () => {
    fails('template', () => resolve('file = "x-{version}.tgz"\nmirrors = ["m"]', null));
  });
  it('rejects {file} in file, and in mirrors without a file', () => {
    fails('template', () => resolve('file = "{file}"\nmirrors = ["m"]'));
    fails('template', () => resolve('mirrors = ["https://h/{file}"]'));
  });
  it('rejects an unknown placeholder', () => {
    fails('template', () => resolve('file = "x-{verison}.tgz"\nmirrors = ["m"]'));
  });
  it('rejects a first mirror that ends without a file name when there is no file', () => {
    fails('field', () => resolve('mirrors = ["https://h/dir/"]'));
  });
});

describe('buildArgs', () => {
  it('passes the version forms and, per source, version, file and git sha', () => {
    const sources = resolveSources(parse(`[package]\nname = "x"\n${source('file = "x-{version}.tgz"\ngit_sha = "c0ffee"\nmirrors = ["m"]', 'my-src')}${source('version = "9"\nfile = "o.tgz"\nmirrors = ["m"]', 'other')}`), '1.2.3', FILE);
    assert.deepEqual(buildArgs('1.2.3', sources), {
      VERSION: '1.2.3',
      VERSION_MAJOR: '1',
      VERSION_MAJOR_MINOR: '1.2',
      VERSION_DASH: '1-2-3',
      VERSION_UNDER: '1_2_3',
      VERSION_STRIP_SUFFIX: '1.2.3',
      'MY-SRC_VERSION': '1.2.3',
      'MY-SRC_SOURCE': 'x-1.2.3.tgz',
      'MY-SRC_GIT_SHA': 'c0ffee',
      OTHER_VERSION: '9',
      OTHER_SOURCE: 'o.tgz',
    });
  });
  it('passes no VERSION args without a version', () => {
    const sources = resolveSources(parse(`[package]\nname = "x"\n${source('file = "f"\nmirrors = ["m"]')}`), null, FILE);
    assert.deepEqual(buildArgs(null, sources), { X_SOURCE: 'f' });
  });
});

describe('packageImages', () => {
  const cf = (stages: string[]) => ({ file: 'packages/user/x/Containerfile', stages });
  it('is one image <stage>-<name> with target package when that stage exists', () => {
    assert.deepEqual(packageImages('user', parse('[package]\nname = "x"\n'), cf(['build', 'package'])), [{ image: 'user-x', target: 'package' }]);
  });
  it('builds the last stage (target null) when there is no package stage, as StageX does', () => {
    assert.deepEqual(packageImages('pallet', parse('[package]\nname = "x"\n'), cf([''])), [{ image: 'pallet-x', target: null }]);
  });
  it('is exactly one image per listed subpackage, built from package-<s>', () => {
    const toml = parse('[package]\nname = "vim"\nsubpackages = ["vim", "xxd"]\n');
    assert.deepEqual(packageImages('user', toml, cf(['build', 'package-vim', 'package-xxd'])), [
      { image: 'user-vim', target: 'package-vim' },
      { image: 'user-xxd', target: 'package-xxd' },
    ]);
    assert.deepEqual(packageImages('user', parse('[package]\nname = "linux"\nsubpackages = ["linux-a"]\n'), cf(['package', 'package-linux-a'])).map((i) => i.image), ['user-linux-a']);
  });
  it('rejects a subpackage without its package-<s> stage', () => {
    assert.throws(() => packageImages('user', parse('[package]\nname = "x"\nsubpackages = ["a", "b"]\n'), cf(['package-a'])),
      (error: unknown) => error instanceof TreeError && error.problem === 'containerfile' && error.file === 'packages/user/x/Containerfile');
  });
});
