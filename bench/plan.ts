/**
 * `plan` of a whole StageX tree, warm: loadTree (walk, read and sha256 every file of every
 * package, parse, resolve) + build order + input digests of every image and platform, against
 * a shell baseline that only reads and hashes the same files once:
 * `find <tree>/packages -type f -print0 | xargs -0 cat | sha256sum`. Best of N runs each.
 * Run: node bench/plan.ts [tree dir] [runs]   (default ../shared/stagex-2025.10.0, 5)
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadTree } from '../daemon/tree.ts';
import { inputDigests } from '../protocol/tree/input-digest.ts';
import { buildOrder } from '../protocol/tree/order.ts';

const dir = process.argv[2] ?? fileURLToPath(new URL('../../shared/stagex-2025.10.0', import.meta.url));
const runs = Number(process.argv[3] ?? 5);

async function plan() {
  const tree = await loadTree(dir);
  if (tree.errors.length > 0) throw new Error(`${dir}: ${tree.errors.length} errors, first: ${tree.errors[0]!.message}`);
  const order = buildOrder(tree);
  const digests = inputDigests(tree);
  const files = [...tree.packages.values()].reduce((n, p) => n + Object.keys(p.files).length, 0);
  return { images: order.length, digests: [...digests.values()].reduce((n, p) => n + p.size, 0), packages: tree.packages.size, files };
}

function baseline(): void {
  execFileSync('sh', ['-c', 'find "$1/packages" -type f -print0 | xargs -0 cat | sha256sum >/dev/null', 'sh', dir]);
}

async function best(run: () => unknown): Promise<number> {
  await run();
  let fastest = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await run();
    fastest = Math.min(fastest, performance.now() - start);
  }
  return fastest;
}

const shape = await plan();
const files = Number(execFileSync('sh', ['-c', 'find "$1/packages" -type f | wc -l', 'sh', dir]).toString().trim());
const planMs = await best(plan);
const baseMs = await best(baseline);
console.log(`tree ${dir}: ${shape.packages} packages, ${shape.images} images, ${shape.digests} input digests, ${shape.files} package files (${files} files under packages/)`);
console.log(`plan (loadTree + buildOrder + inputDigests), best of ${runs} warm: ${planMs.toFixed(1)} ms`);
console.log(`baseline find | xargs cat | sha256sum, best of ${runs} warm:     ${baseMs.toFixed(1)} ms`);
console.log(`ratio plan / baseline: ${(planMs / baseMs).toFixed(2)}  (target: plan < 1000 ms)`);
