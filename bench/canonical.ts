/**
 * The output digest over a ~1 GB rootfs (DESIGN section 3): canonicalize a generated two-layer
 * docker-archive and compare its time with node:crypto sha256 over the same archive bytes (both
 * read from the file through the same stream). Target: ratio >= 0.5, peak RSS flat (< 200 MB).
 * The measurement runs in a child process so its peak RSS excludes the generator's.
 * Run: node bench/canonical.ts [megabytes=1024] [runs=2]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { type Header, pack, type Pack } from 'tar-stream';
import { canonicalize } from '../daemon/builder/canonical.ts';

const READ_CHUNK = 1024 * 1024;

if (process.argv[2] === '--measure') {
  await measure(process.argv[3]!, Number(process.argv[4]));
} else {
  const megabytes = Number(process.argv[2] ?? 1024);
  const runs = Number(process.argv[3] ?? 2);
  const dir = mkdtempSync(join(tmpdir(), 'stagex-bench-canonical-'));
  try {
    const started = performance.now();
    const { files, bytes } = await generate(dir, megabytes * 1024 * 1024);
    const archive = join(dir, 'image.tar');
    console.log(`generated ${files} files, ${(bytes / 2 ** 20).toFixed(0)} MiB of content; archive ${(statSync(archive).size / 2 ** 20).toFixed(0)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--measure', archive, String(runs)], { stdio: 'inherit' });
    process.exitCode = child.status ?? 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(archive: string, runs: number): Promise<void> {
  const size = statSync(archive).size;
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  for (let run = 1; run <= runs; run++) {
    let start = performance.now();
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(archive, { highWaterMark: READ_CHUNK })) hash.update(chunk as Buffer);
    hash.digest();
    const hashSeconds = (performance.now() - start) / 1000;
    const out = join(archive, '..', `out-${run}`);
    start = performance.now();
    const image = await canonicalize(createReadStream(archive, { highWaterMark: READ_CHUNK }), out);
    const canonicalSeconds = (performance.now() - start) / 1000;
    rmSync(out, { recursive: true, force: true });
    console.log(`run ${run}: sha256 ${hashSeconds.toFixed(2)} s (${(size / 2 ** 20 / hashSeconds).toFixed(0)} MiB/s), canonicalize ${canonicalSeconds.toFixed(2)} s (${(size / 2 ** 20 / canonicalSeconds).toFixed(0)} MiB/s), ratio ${(hashSeconds / canonicalSeconds).toFixed(2)}; layer ${(image.layerSize / 2 ** 20).toFixed(0)} MiB, ${image.digest}`);
  }
  clearInterval(sampler);
  const maxRss = process.resourceUsage().maxRSS * 1024;
  console.log(`peak RSS: sampled ${(peakRss / 2 ** 20).toFixed(0)} MiB, maxRSS ${(maxRss / 2 ** 20).toFixed(0)} MiB (process total, hashing baseline included)`);
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
    await pipeline(createReadStream(path, { highWaterMark: READ_CHUNK }), entry);
    rmSync(path);
  }
  await add(outer, { name: 'blobs/sha256/config' }, config);
  await add(outer, { name: 'manifest.json' }, Buffer.from(JSON.stringify([{ Config: 'blobs/sha256/config', RepoTags: null, Layers: ['blobs/sha256/layer1.tar', 'blobs/sha256/layer2.tar'] }])));
  outer.finalize();
  await outerDone;
  return { files, bytes: total };
}

function add(tar: Pack, header: Partial<Header> & { name: string }, body: Buffer = Buffer.alloc(0)): Promise<void> {
  return new Promise((resolve, reject) => tar.entry({ ...header, size: body.length }, body, (error) => (error ? reject(error) : resolve())));
}
