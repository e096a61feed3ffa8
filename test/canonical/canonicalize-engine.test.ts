/**
 * The output digest against a real Docker engine (DESIGN section 3): images the engine builds and
 * exports (`GET /images/{name}/get`) canonicalize like equivalent archives written by another
 * tool, and `docker load` takes the canonical layout. Skips when no engine answers.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import { canonicalize, layoutTar } from '../../canonical/index.ts';
import { type Entry, imageArchive, streamOf, tarOf } from '../helpers/image-archive.ts';
import { tempDir } from '../helpers/tmp.ts';

const SOCKET = '/var/run/docker.sock';
const docker = new Docker({ socketPath: SOCKET });
const skip = await Promise.race([
  docker.ping().then(() => false as const),
  new Promise<string>((resolve) => setTimeout(() => resolve('timed out'), 5000).unref()),
]).catch((error: Error) => error.message).then((result) => (result === false ? false : `no Docker engine answers at ${SOCKET} (${result})`));

const prefix = `stagex-test/canonical-${process.pid}`;
const made: string[] = [];
after(async () => {
  for (const name of made) await docker.getImage(name).remove({ force: true }).catch(() => undefined);
});

/** Waits for a build or load response stream; rejects on an error message in it. */
function finished(stream: NodeJS.ReadableStream): Promise<unknown[]> {
  return new Promise((resolve, reject) => docker.modem.followProgress(stream, (error: Error | null, output: unknown[]) => (error ? reject(error) : resolve(output))));
}

async function canonicalOf(archive: Readable | Buffer, tag?: string) {
  const dir = join(tempDir('stagex-canonical-engine'), 'out');
  const result = await canonicalize(Buffer.isBuffer(archive) ? streamOf(archive) : archive, dir, tag === undefined ? {} : { tag });
  return { dir, ...result };
}

async function exported(name: string): Promise<Readable> {
  return (await docker.getImage(name).get()) as unknown as Readable;
}

/** Files a Containerfile copies in, as a build context gives them (times and owner the engine will change). */
const context: Entry[] = [
  { name: 'Dockerfile', content: 'FROM scratch\nCOPY rootfs/ /\nCOPY extra /opt/app/\n' },
  { name: 'rootfs/bin/', type: 'directory', mtime: new Date(1_000_000_000_000) },
  { name: 'rootfs/bin/tool', content: 'tool\n', mode: 0o755, uid: 1000, mtime: new Date(1_000_000_000_000) },
  { name: 'rootfs/bin/sh', type: 'symlink', linkname: 'tool' },
  { name: 'rootfs/etc/', type: 'directory' },
  { name: 'rootfs/etc/conf', content: 'x=1\n', mtime: new Date(1_500_000_000_000) },
  { name: 'extra', content: 'extra\n', mode: 0o600 },
];
/** The file system that build makes (COPY owns files by 0:0, parents 0755), as one layer. */
const built: Entry[] = [
  { name: 'opt/app/extra', content: 'extra\n', mode: 0o600 },
  { name: 'etc/conf', content: 'x=1\n' },
  { name: 'bin/sh', type: 'symlink', linkname: 'tool' },
  { name: 'bin/tool', content: 'tool\n', mode: 0o755 },
];
const CONFIG = { architecture: 'amd64', os: 'linux' };

describe('canonicalize with a Docker engine', { skip }, () => {
  it('a built two-layer image gives the layer of the same files written as one layer by another tool', async () => {
    const name = `${prefix}-built:latest`;
    made.push(name);
    await finished(await docker.buildImage(streamOf(await tarOf(context)) as unknown as NodeJS.ReadableStream, { t: name, rm: true, forcerm: true }));
    const fromEngine = await canonicalOf(await exported(name));
    const elsewhere = await canonicalOf(await imageArchive([{ tar: await tarOf(built) }], CONFIG, 'docker-legacy'));
    assert.equal(fromEngine.layerDigest, elsewhere.layerDigest);
  });

  it('an image loaded with whiteouts, stored and exported by the engine keeps its digest', async () => {
    const name = `${prefix}-loaded:latest`;
    made.push(name);
    const base = await tarOf([{ name: 'etc/', type: 'directory' }, { name: 'etc/old', content: 'old' }, { name: 'var/opq/', type: 'directory' }, { name: 'var/opq/a', content: 'a' }, { name: 'bin/', type: 'directory' }, { name: 'bin/a', content: 'A', mode: 0o755 }, { name: 'bin/b', type: 'link', linkname: 'bin/a' }]);
    const top = await tarOf([{ name: 'etc/', type: 'directory' }, { name: 'etc/.wh.old' }, { name: 'var/opq/', type: 'directory' }, { name: 'var/opq/.wh..wh..opq' }, { name: 'var/opq/b', content: 'b' }]);
    const archive = await imageArchive([{ tar: base }, { tar: top, compress: 'gzip' }], CONFIG, 'docker-oci', name);
    await finished(await docker.loadImage(streamOf(archive) as unknown as NodeJS.ReadableStream));
    const direct = await canonicalOf(archive);
    const roundTrip = await canonicalOf(await exported(name));
    assert.equal(roundTrip.digest, direct.digest);
  });

  it('docker load takes the canonical layout, as the image its config names, and re-export gives the same digest', async () => {
    const source = `${prefix}-source:latest`;
    const canonical = `${prefix}-canonical:latest`;
    made.push(source, canonical);
    await finished(await docker.buildImage(streamOf(await tarOf(context)) as unknown as NodeJS.ReadableStream, { t: source, rm: true, forcerm: true }));
    const first = await canonicalOf(await exported(source), canonical);
    await finished(await docker.loadImage(layoutTar(first.dir) as unknown as NodeJS.ReadableStream));
    const inspected = await docker.getImage(canonical).inspect();
    // the classic image store names an image by its config digest, the containerd store by its manifest's
    assert.ok([first.configDigest, first.digest].includes(inspected.Id), inspected.Id);
    assert.deepEqual(inspected.RootFS.Layers, [first.layerDigest]);
    const again = await canonicalOf(await exported(canonical));
    assert.equal(again.digest, first.digest);
  });
});
