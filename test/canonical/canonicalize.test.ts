import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { extract, type Header } from 'tar-stream';
import { canonicalize, layoutTar } from '../../canonical/index.ts';
import { type Entry, imageArchive, type Layer, sha256, streamOf, tarOf } from '../helpers/image-archive.ts';
import { tempDir } from '../helpers/tmp.ts';

const LONG_BASE = `usr/lib/${'x'.repeat(120)}.so`; // basename over 100 bytes: only pax can hold it
const SPLIT = `usr/share/doc/${'pkg-'.repeat(22)}/README`; // over 100 bytes, fits ustar's prefix + name
const CAPABILITY = '\x01\x00\x00\x02\x00\x20\x00\x00';
const FULLWIDTH_A = 'usr/share/i18n/\uFF21'; // UTF-8 EF BC A1: sorts before the emoji bytewise, after it in UTF-16
const EMOJI = 'usr/share/i18n/\u{1F600}'; // UTF-8 F0 9F 98 80

/** The base layer; `variant` changes only what the canonical form must ignore. */
function baseLayer(variant = false): Entry[] {
  const t = (seconds: number) => ({ mtime: new Date((variant ? 1_700_000_000 : 1_600_000_000) + seconds * 1000), uname: variant ? 'builder' : 'root', gname: variant ? 'wheel' : 'root' });
  const dirs: Entry[] = [
    { name: variant ? 'bin/' : './bin/', type: 'directory', ...t(1) },
    { name: 'etc/', type: 'directory', ...t(2) },
    { name: 'etc/ssl/', type: 'directory', mode: 0o700, ...t(3) },
    { name: 'home/user/', type: 'directory', mode: 0o750, uid: 1000, gid: 1000, ...t(4) },
    { name: 'tmp/', type: 'directory', mode: 0o1777, ...t(5) },
    { name: 'var/lib/opq/', type: 'directory', ...t(6) },
    { name: 'var/lib/opq/sub/', type: 'directory', ...t(7) },
    { name: 'mnt/', type: 'directory', ...t(8) },
  ];
  const files: Entry[] = [
    { name: 'etc/passwd', content: 'root:x:0:0\n', ...t(10) },
    { name: 'etc/old', content: 'to be deleted\n', ...t(11) },
    { name: 'etc/ssl-legacy', content: 'legacy\n', ...t(12) },
    { name: 'etc/ssl/cert.pem', content: 'cert\n', mode: 0o600, ...t(13) },
    { name: 'home/user/.profile', content: 'export PS1\n', uid: 1000, gid: 1000, ...t(14) },
    { name: 'var/lib/opq/a', content: 'a\n', ...t(15) },
    { name: 'var/lib/opq/sub/b', content: 'b\n', ...t(16) },
    { name: 'mnt/y', content: 'y\n', ...t(17) },
    { name: 'srv', content: 'a file, later a directory\n', ...t(18) },
    { name: SPLIT, content: 'docs\n', ...t(19) },
    { name: LONG_BASE, content: 'long\n', ...(variant ? { gnuLongName: true } : {}), ...t(20) },
    { name: 'usr/bin/ping', content: 'ping\n', mode: 0o4755, pax: { 'SCHILY.xattr.security.capability': CAPABILITY, ...(variant ? { 'SCHILY.xattr.user.podman': 'kept by podman' } : {}) }, ...t(21) },
    { name: FULLWIDTH_A, content: 'A\n', ...t(22) },
    { name: EMOJI, content: 'smile\n', ...t(23) },
  ];
  const links: Entry[] = [
    { name: 'bin/busybox', content: 'busybox binary\n', mode: 0o755, ...t(30) },
    { name: 'bin/sh', type: 'symlink', linkname: 'busybox', ...t(31) },
    { name: 'bin/[', type: 'link', linkname: 'bin/busybox', mode: 0o755, ...t(32) },
    { name: 'bin/zcat', type: 'link', linkname: variant ? './bin/busybox' : 'bin/busybox', mode: 0o755, ...t(33) },
  ];
  // The variant lists siblings in another order, adds the root entry and pax records nobody reads
  // (tar-stream's pax header always holds `path`, which would override the GNU long name).
  return variant
    ? [{ name: './', type: 'directory', mode: 0o700, uid: 5, ...t(0) }, ...dirs.reverse(), ...files.reverse().map((e) => (e.gnuLongName ? e : { ...e, pax: { ...e.pax, comment: 'noise' } })), ...links]
    : [...dirs, ...files, ...links];
}

function topLayer(variant = false): Entry[] {
  const mtime = new Date(variant ? 1_750_000_000_000 : 1_650_000_000_000);
  return [
    { name: 'etc/', type: 'directory', mtime },
    { name: 'etc/.wh.old', mtime },
    { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n', mtime },
    { name: 'var/lib/opq/', type: 'directory', mtime },
    { name: 'var/lib/opq/.wh..wh..opq', mtime },
    { name: 'var/lib/opq/c', content: 'c\n', mtime },
    { name: 'bin/cat', type: 'link', linkname: 'bin/busybox', mtime },
    { name: 'opt/app/run', content: '#!/bin/sh\n', mode: 0o755, uid: 1000, gid: 1000, mtime },
    { name: 'srv/', type: 'directory', mtime },
    { name: 'srv/x', content: 'x\n', mtime },
    { name: 'mnt', type: 'symlink', linkname: '/media', mtime },
  ];
}

/** The same file system as base + top, written as one already-squashed layer by another tool. */
function squashedLayer(): Entry[] {
  const e = (name: string, rest: Partial<Entry> = {}): Entry => ({ name, mtime: new Date(1_234_567_000), uname: 'nobody', ...rest });
  return [
    e('var/lib/opq/c', { content: 'c\n' }),
    e('usr/bin/ping', { content: 'ping\n', mode: 0o4755, pax: { 'SCHILY.xattr.security.capability': CAPABILITY } }),
    e(LONG_BASE, { content: 'long\n' }),
    e(SPLIT, { content: 'docs\n' }),
    e(EMOJI, { content: 'smile\n' }),
    e(FULLWIDTH_A, { content: 'A\n' }),
    e('tmp/', { type: 'directory', mode: 0o1777 }),
    e('srv/x', { content: 'x\n' }),
    e('opt/app/run', { content: '#!/bin/sh\n', mode: 0o755, uid: 1000, gid: 1000 }),
    e('mnt', { type: 'symlink', linkname: '/media', mode: 0o755 }),
    e('home/user/', { type: 'directory', mode: 0o750, uid: 1000, gid: 1000 }),
    e('home/user/.profile', { content: 'export PS1\n', uid: 1000, gid: 1000 }),
    e('etc/ssl/', { type: 'directory', mode: 0o700 }),
    e('etc/ssl/cert.pem', { content: 'cert\n', mode: 0o600 }),
    e('etc/ssl-legacy', { content: 'legacy\n' }),
    e('etc/passwd', { content: 'root:x:0:0:root:/root:/bin/sh\n' }),
    e('bin/zcat', { content: 'busybox binary\n', mode: 0o755 }),
    e('bin/sh', { type: 'symlink', linkname: 'busybox' }),
    e('bin/cat', { type: 'link', linkname: 'bin/zcat' }),
    e('bin/busybox', { type: 'link', linkname: 'bin/zcat' }),
    e('bin/[', { type: 'link', linkname: 'bin/zcat' }),
  ];
}

const CONFIG = { architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/sh'] } };
/** The same image config as another engine and another day write it. */
const NOISY_CONFIG = {
  ...CONFIG,
  created: '2026-01-02T03:04:05.678Z',
  docker_version: '26.1.5',
  config: { ...CONFIG.config, Labels: { 'io.buildah.version': '1.39.3' }, ArgsEscaped: true, Volumes: null, WorkingDir: '' },
  history: [{ created_by: 'COPY . /' }],
};

async function canonical(archive: Buffer, tag?: string) {
  const dir = join(tempDir('stagex-canonical'), 'out');
  const result = await canonicalize(streamOf(archive), dir, tag === undefined ? {} : { tag });
  return { dir, ...result };
}

async function standard(): Promise<Buffer> {
  return imageArchive([{ tar: await tarOf(baseLayer()) }, { tar: await tarOf(topLayer()) }], CONFIG, 'docker-legacy');
}

interface ReadEntry { header: Header & { pax?: Record<string, string> }; content: string }

/** The canonical layer read back by tar-stream, an independent reader. */
async function readLayer(dir: string, digest: string): Promise<ReadEntry[]> {
  const reader = extract({ filenameEncoding: 'utf-8' } as never);
  Readable.from([readFileSync(join(dir, 'blobs/sha256', digest.slice(7)))]).pipe(reader);
  const entries: ReadEntry[] = [];
  for await (const entry of reader) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    entries.push({ header: entry.header as ReadEntry['header'], content: Buffer.concat(chunks).toString('utf8') });
  }
  return entries;
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: { code?: string }) => {
    assert.equal(error.code, code);
    return true;
  });
}

describe('canonicalize', () => {
  describe('gives one digest for one file system and config', () => {
    it('across archive forms, compression, entry order, mtimes, owner names, pax noise and engine config fields', async () => {
      const reference = await canonical(await standard());
      const variants: [string, Layer[], Record<string, unknown>, 'docker-legacy' | 'docker-oci' | 'oci-archive'][] = [
        ['Docker 25+ save, gzip base, zstd top, reordered, noisy config', [{ tar: await tarOf(baseLayer(true)), compress: 'gzip' }, { tar: await tarOf(topLayer(true)), compress: 'zstd' }], NOISY_CONFIG, 'docker-oci'],
        ['oci-archive, nested index with an attestation manifest', [{ tar: await tarOf(baseLayer(true)) }, { tar: await tarOf(topLayer()), compress: 'gzip' }], NOISY_CONFIG, 'oci-archive'],
        ['one layer, already squashed, by another tool', [{ tar: await tarOf(squashedLayer()) }], CONFIG, 'docker-oci'],
      ];
      for (const [label, layers, config, style] of variants) {
        const other = await canonical(await imageArchive(layers, config, style));
        assert.equal(other.layerDigest, reference.layerDigest, `${label}: layer`);
        assert.equal(other.digest, reference.digest, `${label}: manifest`);
      }
    });

    it('from an archive file read in place as from its stream', async () => {
      const archive = await standard();
      const file = join(tempDir('stagex-canonical'), 'image.tar');
      writeFileSync(file, archive);
      const result = await canonicalize(file, join(tempDir('stagex-canonical'), 'out'));
      assert.equal(result.digest, (await canonical(archive)).digest);
      assert.deepEqual(readFileSync(file), archive, 'the archive file is left as it was');
    });

    it('whatever the reference (tag) it is written under', async () => {
      const archive = await standard();
      assert.equal((await canonical(archive, 'stagex/core-test:1')).digest, (await canonical(archive)).digest);
    });
  });

  describe('changes the digest when the content changes', () => {
    const changes: [string, (base: Entry[], top: Entry[], config: typeof CONFIG) => void][] = [
      ['one byte of a file', (base) => (base.find((e) => e.name === 'etc/ssl/cert.pem')!.content = 'cerT\n')],
      ['a mode', (base) => (base.find((e) => e.name === 'etc/ssl-legacy')!.mode = 0o600)],
      ['a numeric owner', (base) => (base.find((e) => e.name === 'etc/ssl-legacy')!.uid = 1)],
      ['a symlink target', (base) => (base.find((e) => e.name === 'bin/sh')!.linkname = '/bin/busybox')],
      ['the capability xattr', (base) => (base.find((e) => e.name === 'usr/bin/ping')!.pax = {})],
      ['a hard link made a copy', (_, top) => top.splice(top.findIndex((e) => e.name === 'bin/cat'), 1, { name: 'bin/cat', content: 'busybox binary\n' })],
      ['an empty directory added', (_, top) => top.push({ name: 'var/empty/', type: 'directory' })],
      ['a whiteout dropped', (_, top) => top.splice(top.findIndex((e) => e.name === 'etc/.wh.old'), 1)],
      ['the config', (_, __, config) => (config.config = { ...config.config, Cmd: ['/bin/ash'] })],
    ];
    for (const [label, change] of changes) {
      it(label, async () => {
        const base = baseLayer();
        const top = topLayer();
        const config = structuredClone(CONFIG);
        change(base, top, config);
        const changed = await canonical(await imageArchive([{ tar: await tarOf(base) }, { tar: await tarOf(top) }], config, 'docker-legacy'));
        assert.notEqual(changed.digest, (await canonical(await standard())).digest);
      });
    }
  });

  describe('the canonical layer', () => {
    it('holds the squashed file system, whiteouts applied, sorted bytewise', async () => {
      const { dir, layerDigest } = await canonical(await standard());
      const entries = await readLayer(dir, layerDigest);
      assert.deepEqual(entries.map((e) => e.header.name), [
        'bin/', 'bin/[', 'bin/busybox', 'bin/cat', 'bin/sh', 'bin/zcat',
        // sorted by path: a directory's "/" ends its name but is not part of its path
        'etc/', 'etc/passwd', 'etc/ssl/', 'etc/ssl-legacy', 'etc/ssl/cert.pem',
        'home/', 'home/user/', 'home/user/.profile',
        'mnt',
        'opt/', 'opt/app/', 'opt/app/run',
        'srv/', 'srv/x',
        'tmp/',
        'usr/', 'usr/bin/', 'usr/bin/ping', 'usr/lib/', `${LONG_BASE}`, 'usr/share/', 'usr/share/doc/', `${SPLIT.slice(0, SPLIT.lastIndexOf('/'))}/`, SPLIT,
        'usr/share/i18n/', FULLWIDTH_A, EMOJI,
        'var/', 'var/lib/', 'var/lib/opq/', 'var/lib/opq/c',
      ]);
      const byName = new Map(entries.map((e) => [e.header.name, e]));
      assert.equal(byName.get('etc/passwd')?.content, 'root:x:0:0:root:/root:/bin/sh\n');
      assert.equal(byName.get('mnt')?.header.type, 'symlink');
    });

    it('writes mtime 0, empty owner names, numeric owners kept, modes masked, symlinks 0777, parents 0755 0:0', async () => {
      const { dir, layerDigest } = await canonical(await standard());
      const entries = await readLayer(dir, layerDigest);
      for (const { header } of entries) {
        assert.equal(header.mtime.getTime(), 0, header.name);
        assert.equal(header.uname, '', header.name);
        assert.equal(header.gname, '', header.name);
      }
      const meta = (name: string) => {
        const { header } = entries.find((e) => e.header.name === name)!;
        return [header.type, header.mode, header.uid, header.gid];
      };
      assert.deepEqual(meta('home/user/'), ['directory', 0o750, 1000, 1000]);
      assert.deepEqual(meta('tmp/'), ['directory', 0o1777, 0, 0]);
      assert.deepEqual(meta('usr/bin/ping'), ['file', 0o4755, 0, 0]);
      assert.deepEqual(meta('bin/sh'), ['symlink', 0o777, 0, 0]);
      assert.deepEqual(meta('opt/'), ['directory', 0o755, 0, 0]);
      assert.deepEqual(meta('opt/app/run'), ['file', 0o755, 1000, 1000]);
    });

    it('points every hard link of a group at its bytewise-smallest path, which holds the data', async () => {
      const { dir, layerDigest } = await canonical(await standard());
      const entries = await readLayer(dir, layerDigest);
      const group = entries.filter((e) => ['bin/[', 'bin/busybox', 'bin/cat', 'bin/zcat'].includes(e.header.name));
      assert.deepEqual(group.map((e) => [e.header.name, e.header.type, e.header.linkname ?? null, e.content]), [
        ['bin/[', 'file', null, 'busybox binary\n'],
        ['bin/busybox', 'link', 'bin/[', ''],
        ['bin/cat', 'link', 'bin/[', ''],
        ['bin/zcat', 'link', 'bin/[', ''],
      ]);
    });

    it('writes pax only where ustar cannot hold a value, and keeps only security.capability', async () => {
      const { dir, layerDigest } = await canonical(await imageArchive([{ tar: await tarOf(baseLayer(true)) }, { tar: await tarOf(topLayer()) }], CONFIG, 'docker-oci'));
      const withPax = (await readLayer(dir, layerDigest)).filter((e) => e.header.pax != null);
      assert.deepEqual(withPax.map((e) => [e.header.name, e.header.pax]), [
        ['usr/bin/ping', { 'SCHILY.xattr.security.capability': CAPABILITY }],
        [LONG_BASE, { path: LONG_BASE }],
      ].sort());
    });
  });

  it('writes a valid OCI layout: index, manifest, config and layer agree with the blob files', async () => {
    const result = await canonical(await standard(), 'stagex/core-test:canonical');
    const blob = (digest: string) => readFileSync(join(result.dir, 'blobs/sha256', digest.replace(/^sha256:/, '')));
    const json = (path: string) => JSON.parse(readFileSync(join(result.dir, path), 'utf8'));
    assert.deepEqual(json('oci-layout'), { imageLayoutVersion: '1.0.0' });
    for (const name of readdirSync(join(result.dir, 'blobs/sha256'))) assert.equal(sha256(blob(name)), name, `blob ${name}`);
    const [described] = json('index.json').manifests;
    assert.equal(described.digest, result.digest);
    assert.equal(described.size, blob(result.digest).length);
    const manifest = JSON.parse(blob(result.digest).toString('utf8'));
    assert.equal(manifest.config.digest, result.configDigest);
    assert.equal(manifest.config.size, blob(result.configDigest).length);
    assert.deepEqual(manifest.layers, [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: result.layerDigest, size: result.layerSize }]);
    assert.equal(blob(result.layerDigest).length, result.layerSize);
    const config = JSON.parse(blob(result.configDigest).toString('utf8'));
    assert.deepEqual(config.rootfs, { type: 'layers', diff_ids: [result.diffId] });
    assert.equal(config.created, '1970-01-01T00:00:00Z');
    assert.equal(config.history, undefined);
    assert.deepEqual(json('manifest.json'), [{ Config: `blobs/sha256/${result.configDigest.slice(7)}`, Layers: [`blobs/sha256/${result.layerDigest.slice(7)}`], RepoTags: ['stagex/core-test:canonical'] }]);
    assert.deepEqual(readdirSync(join(result.dir, '..')), ['out'], 'no work directory left beside the output');
  });

  it('layoutTar streams the layout as a tar holding every file byte for byte (what docker load takes)', async () => {
    const result = await canonical(await standard(), 'stagex/core-test:canonical');
    const reader = extract();
    layoutTar(result.dir).pipe(reader);
    const files = new Map<string, Buffer>();
    for await (const entry of reader) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      files.set(entry.header.name, Buffer.concat(chunks));
    }
    const expected = [result.configDigest, result.digest, result.layerDigest].map((digest) => `blobs/sha256/${digest.slice(7)}`).concat('index.json', 'manifest.json', 'oci-layout');
    assert.deepEqual([...files.keys()].sort(), expected.sort());
    for (const [name, bytes] of files) assert.deepEqual(bytes, readFileSync(join(result.dir, name)), name);
  });

  it('is readable by skopeo inspect oci:DIR', { skip: spawnSync('skopeo', ['--version']).status === 0 ? false : 'skopeo is not installed' }, async () => {
    const result = await canonical(await standard(), 'stagex/core-test:canonical');
    const inspected = spawnSync('skopeo', ['inspect', `oci:${result.dir}:canonical`], { encoding: 'utf8' });
    assert.equal(inspected.status, 0, inspected.stderr);
    const info = JSON.parse(inspected.stdout);
    assert.equal(info.Digest, result.digest);
    assert.deepEqual(info.Layers, [result.layerDigest]);
    assert.equal(info.Architecture, 'amd64');
  });

  describe('fails with a code, leaving nothing behind', () => {
    const fails = async (archive: Buffer | Promise<Buffer>, code: string) => {
      const parent = tempDir('stagex-canonical');
      await expectCode(canonicalize(streamOf(await archive), join(parent, 'out')), code);
      assert.deepEqual(readdirSync(parent), [], 'neither the output nor a work directory exists');
    };
    const oneLayer = async (entries: Entry[], config: unknown = CONFIG) => imageArchive([{ tar: await tarOf(entries) }], config as Record<string, unknown>, 'docker-oci');

    it('SPECIAL_FILE for a fifo', () => fails(oneLayer([{ name: 'run/initctl', type: 'fifo' }]), 'SPECIAL_FILE'));
    it('SPECIAL_FILE for a device node', () => fails(oneLayer([{ name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 }]), 'SPECIAL_FILE'));
    it('no error for a device node a later layer deletes', async () => {
      const archive = await imageArchive([{ tar: await tarOf([{ name: 'dev/null', type: 'character-device' }]) }, { tar: await tarOf([{ name: 'dev/.wh.null' }]) }], CONFIG, 'docker-oci');
      assert.match((await canonical(archive)).digest, /^sha256:[0-9a-f]{64}$/);
    });
    it('BAD_LAYER for a path leaving the root', () => fails(oneLayer([{ name: '../escape', content: 'x' }]), 'BAD_LAYER'));
    it('BAD_LAYER for a hard link to nothing', () => fails(oneLayer([{ name: 'a', type: 'link', linkname: 'missing' }]), 'BAD_LAYER'));
    it('BAD_TAR for bytes that are not a tar', () => fails(Buffer.alloc(4096, 0x41), 'BAD_TAR'));
    it('BAD_TAR for a truncated layer', async () => {
      const tar = await tarOf([{ name: 'big', content: Buffer.alloc(10_000, 1) }]);
      await fails(imageArchive([{ tar: tar.subarray(0, 4096) }], CONFIG, 'docker-oci'), 'BAD_TAR');
    });
    it('BAD_ARCHIVE for a tar that is no image', () => fails(tarOf([{ name: 'hello.txt', content: 'hi' }]), 'BAD_ARCHIVE'));
    it('BAD_ARCHIVE for corrupt gzip data', async () => {
      const layer = await tarOf([{ name: 'a', content: 'a' }]);
      const archive = await imageArchive([{ tar: layer, compress: 'gzip' }], CONFIG, 'docker-oci');
      const at = archive.indexOf(Buffer.from([0x1f, 0x8b, 0x08]));
      archive.fill(0x55, at + 12, at + 40);
      await fails(archive, 'BAD_ARCHIVE');
    });
    it('UNSUPPORTED_COMPRESSION for a bzip2 layer', async () => {
      const archive = await imageArchive([{ tar: Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.alloc(100)]) }], CONFIG, 'docker-legacy');
      await fails(archive, 'UNSUPPORTED_COMPRESSION');
    });
    it('BAD_IMAGE_CONFIG for a config without architecture', () => fails(oneLayer([{ name: 'a', content: 'a' }], { os: 'linux' }), 'BAD_IMAGE_CONFIG'));
  });

  it('OUTPUT_EXISTS for a non-empty output directory, which it leaves as it was', async () => {
    const out = join(tempDir('stagex-canonical'), 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'keep'), 'mine');
    const archive = streamOf(await standard());
    await expectCode(canonicalize(archive, out), 'OUTPUT_EXISTS');
    assert.deepEqual(readdirSync(out), ['keep']);
    assert.equal(archive.destroyed, true, 'the archive stream is released');
  });

  it('takes an empty output directory', async () => {
    const out = join(tempDir('stagex-canonical'), 'out');
    mkdirSync(out);
    await canonicalize(streamOf(await standard()), out);
    assert.equal(existsSync(join(out, 'index.json')), true);
  });
});
