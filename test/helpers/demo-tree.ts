/**
 * The demo tree of packages/ for builder tests: copied with its pins into a temporary directory,
 * its mirrors pointed at a loopback mirror on an ephemeral port (the output digests do not
 * depend on where sources come from), and a reproducer's config to build it with.
 */
import { execFile } from 'node:child_process';
import { cp, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cli } from '../../scripts/local-network.ts';
import { serveMirror, type Mirror } from '../../scripts/mirror.ts';
import { tempDir } from './tmp.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** The port the committed tree's mirrors name. */
const TREE_PORT = '127.0.0.1:7790';

/**
 * The mirror directory `.work/mirror`, filled by scripts/demo-mirror.sh when it is not (the
 * busybox seed comes from apt once, then stays), or why it could not be made.
 */
export async function demoMirrorDir(): Promise<{ dir: string } | { skip: string }> {
  const dir = join(ROOT, '.work', 'mirror');
  try {
    await promisify(execFile)('bash', [join(ROOT, 'scripts', 'demo-mirror.sh'), dir]);
    return { dir };
  } catch (error) {
    return { skip: `scripts/demo-mirror.sh could not fill a mirror (${(error as { stderr?: string }).stderr?.trim() || (error as Error).message})` };
  }
}

/** Serves `dir` and copies the tree with its mirrors pointed there; `pins` replaces bootstrap/pins.json. */
export async function demoTree(mirrorDir: string, pins?: unknown): Promise<{ tree: string; mirror: Mirror }> {
  const mirror = await serveMirror(mirrorDir);
  const tree = tempDir('stagex-tree');
  await cp(join(ROOT, 'packages'), join(tree, 'packages'), { recursive: true });
  await cp(join(ROOT, 'bootstrap'), join(tree, 'bootstrap'), { recursive: true });
  for (const stage of await readdir(join(tree, 'packages'))) {
    for (const name of await readdir(join(tree, 'packages', stage))) {
      const file = join(tree, 'packages', stage, name, 'package.toml');
      await writeFile(file, (await readFile(file, 'utf8')).replaceAll(TREE_PORT, `127.0.0.1:${mirror.port}`));
    }
  }
  if (pins !== undefined) await writeFile(join(tree, 'bootstrap', 'pins.json'), JSON.stringify(pins));
  return { tree, mirror };
}

/** The committed pins of the demo tree. */
export async function demoPins(): Promise<{ stages: Record<string, { seeds?: Record<string, string>; digest?: string }> }> {
  return JSON.parse(await readFile(join(ROOT, 'bootstrap', 'pins.json'), 'utf8'));
}

/**
 * A reproducer (`stagex-node init`) whose config builds `tree`, assigned everything; `trust`
 * replaces its trust section (default: itself, threshold 1). Returns its config file.
 */
export async function reproducer(name: string, tree: string, trust?: unknown): Promise<{ config: string; publicKey: string }> {
  const dir = join(tempDir(`stagex-${name}`), name);
  const init = await cli('init', dir, '--name', name, '--network-id', 'test', '--json');
  if (init.code !== 0) throw new Error(init.err);
  const { config, publicKey } = JSON.parse(init.out) as { config: string; publicKey: string };
  const json = JSON.parse(await readFile(config, 'utf8'));
  json.builder = { tree, assign: ['*'] };
  json.api = { listen: join(dir, 'api.sock') };
  if (trust !== undefined) json.trust = trust;
  await writeFile(config, JSON.stringify(json, null, 2));
  return { config, publicKey };
}
