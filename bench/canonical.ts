/**
 * The output digest over a ~1 GB rootfs (DESIGN section 3): canonicalize a generated two-layer
 * docker-archive and compare its time with node:crypto sha256 over the same archive bytes, both
 * read from the file by the same stream (64 KiB chunks, as an HTTP body brings them); and
 * canonicalize of the archive file read in place (no spool copy).
 * Target: ratio >= 0.5, peak RSS flat (< 200 MB). Each measurement runs in a fresh child process,
 * so its maxRSS is its own (Node with TypeScript stripping starts near 80 MiB).
 * Run: node bench/canonical.ts [megabytes=1024] [runs=2]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, fsyncSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { type Header, pack, type Pack } from 'tar-stream';
import { canonicalize } from '../canonical/index.ts';

// Parent: [megabytes] [runs]. Child: --sha256 | --canonicalize | --canonicalize-file <archive>.
const [, , first = '1024', second = '2'] = process.argv;
if (first === '--sha256' || first === '--canonicalize' || first === '--canonicalize-file') {
  console.log(JSON.stringify(await measureOnce(first, second)));
} else {
  const megabytes = Number(first);
  const runs = Number(second);
  const dir = mkdtempSync(join(tmpdir(), 'stagex-bench-canonical-'));
  try {
    const started = performance.now();
    const { files, bytes } = await generate(dir, megabytes * 1024 * 1024);
    const archive = join(dir, 'image.tar');
    const size = statSync(archive).size;
    console.log(`generated ${files} files, ${mib(bytes)} of content; archive ${mib(size)} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    let digest = '';
    for (let run = 1; run <= runs; run++) {
      const hash = child('--sha256', archive);
      const streamed = child('--canonicalize', archive);
      const inPlace = child('--canonicalize-file', archive);
      const show = (label: string, m: Measured) => `${label} ${m.seconds.toFixed(2)} s (${mib(size / m.seconds)}/s, maxRSS ${mib(m.maxRss)}, ratio ${(hash.seconds / m.seconds).toFixed(2)})`;
      console.log(`run ${run}: sha256 ${hash.seconds.toFixed(2)} s (${mib(size / hash.seconds)}/s, maxRSS ${mib(hash.maxRss)}); ${show('canonicalize stream', streamed)}; ${show('file in place', inPlace)}`);
      if (streamed.digest !== inPlace.digest || (digest !== '' && digest !== streamed.digest)) throw new Error(`digests differ: ${digest} ${streamed.digest} ${inPlace.digest}`);
      digest = streamed.digest;
    }
    console.log(`output digest ${digest}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Measured {
  seconds: number;
  maxRss: number;
  digest: string;
}

/** Each measurement in a fresh process, so its maxRSS is its own. */
function child(mode: string, archive: string): Measured {
  const result = spawnSync(process.execPath, [fileURLToPath(import.meta.url), mode, archive], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.status !== 0) throw new Error(`${mode} exited with ${result.status}`);
  return JSON.parse(result.stdout) as Measured;
}

async function measureOnce(mode: string, archive: string): Promise<Measured> {
  const start = performance.now();
  let digest: string;
  if (mode === '--sha256') {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(archive)) hash.update(chunk as Buffer);
    digest = `sha256:${hash.digest('hex')} (archive)`;
  } else {
    const out = join(archive, '..', 'out');
    digest = (await canonicalize(mode === '--canonicalize' ? createReadStream(archive) : archive, out)).digest;
    rmSync(out, { recursive: true, force: true });
  }
  return { seconds: (performance.now() - start) / 1000, maxRss: process.resourceUsage().maxRSS * 1024, digest };
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** A deterministic pseudo-random byte pool; file contents are slices of it at varied offsets. */
function pool(bytes: number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  let seed = createHash('sha256').update('stagex bench').digest();
  for (let at = 0; at < bytes; at += 32) {
    seed = createHash('sha256').update(seed).digest();
    seed.copy(out, at);
  }
  return out;
}

/** Size of the n-th file: mostly small, some medium, a few large (about 60 KiB on average). */
function sizeOf(n: number): number {
  const r = (n * 2654435761) % 1000;
  if (r < 750) return 64 + ((n * 7919) % (16 * 1024));
  if (r < 995) return 16 * 1024 + ((n * 104729) % (240 * 1024));
  return 1024 * 1024 + ((n * 15485863) % (7 * 1024 * 1024));
}

/** Writes layer tars and the docker-archive `image.tar` (Docker 25+ form) holding them. */
async function generate(dir: string, target: number): Promise<{ files: number; bytes: number }> {
  const bytes = pool(32 * 1024 * 1024);
  const base = pack();
  const baseDone = pipeline(base, createWriteStream(join(dir, 'layer1.tar')));
  let files = 0;
  let total = 0;
  for (let d = 0; total < target; d++) {
    const dirName = `usr/lib/pkg${d % 97}/sub${d}`;
    await add(base, { name: `${dirName}/`, type: 'directory', mode: 0o755, mtime: new Date(1e12 + d), uname: 'root' });
    for (let f = 0; f < 40 && total < target; f++, files++) {
      const size = sizeOf(files);
      const offset = (files * 40503) % (bytes.length - size);
      await add(base, { name: `${dirName}/file-${f}.so`, mode: f % 5 === 0 ? 0o755 : 0o644, mtime: new Date(1e12 + files), uid: 0, gid: 0, uname: 'root', gname: 'root' }, bytes.subarray(offset, offset + size));
      total += size;
    }
  }
  base.finalize();
  await baseDone;
  const top = pack();
  const topDone = pipeline(top, createWriteStream(join(dir, 'layer2.tar')));
  await add(top, { name: 'usr/lib/pkg0/sub0/', type: 'directory', mode: 0o755 });
  await add(top, { name: 'usr/lib/pkg0/sub0/.wh.file-1.so' }, Buffer.alloc(0));
  await add(top, { name: 'usr/lib/pkg1/sub1/.wh..wh..opq' }, Buffer.alloc(0));
  await add(top, { name: 'etc/os-release', mode: 0o644 }, Buffer.from('ID=stagex\n'));
  top.finalize();
  await topDone;
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: new Date().toISOString(), config: { Env: ['PATH=/usr/bin:/bin'] }, rootfs: { type: 'layers', diff_ids: [] } }));
  const outer = pack();
  const outerDone = pipeline(outer, createWriteStream(join(dir, 'image.tar')));
  for (const layer of ['layer1.tar', 'layer2.tar']) {
    const path = join(dir, layer);
    const entry = outer.entry({ name: `blobs/sha256/${layer}`, size: statSync(path).size });
    await pipeline(createReadStream(path), entry);
    rmSync(path);
  }
  await add(outer, { name: 'blobs/sha256/config' }, config);
  await add(outer, { name: 'manifest.json' }, Buffer.from(JSON.stringify([{ Config: 'blobs/sha256/config', RepoTags: null, Layers: ['blobs/sha256/layer1.tar', 'blobs/sha256/layer2.tar'] }])));
  outer.finalize();
  await outerDone;
  // On disk before measuring, as an engine's export would be: its dirty pages would otherwise
  // count against the kernel's writeback limits while canonicalize writes its own.
  const written = openSync(join(dir, 'image.tar'), 'r');
  fsyncSync(written);
  closeSync(written);
  return { files, bytes: total };
}

function add(tar: Pack, header: Partial<Header> & { name: string }, body: Buffer = Buffer.alloc(0)): Promise<void> {
  return new Promise((resolve, reject) => tar.entry({ ...header, size: body.length }, body, (error) => (error ? reject(error) : resolve())));
}
