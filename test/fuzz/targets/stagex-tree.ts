/**
 * Files of the real StageX tree (../shared/stagex-2025.10.0), as seeds for mutation: a sample of
 * its Containerfiles and package.toml files, every 7th in path order, read once. Empty when the
 * tree is absent; the targets then mutate their own small samples only.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { STAGEX_TREE } from '../../helpers/shared.ts';

const EVERY = 7;

function sampleFiles(name: string): string[] {
  const root = join(STAGEX_TREE, 'packages');
  if (!existsSync(root)) return [];
  const files = (readdirSync(root, { recursive: true, encoding: 'utf8' }) as string[]).filter((f) => f.endsWith(`/${name}`)).sort();
  return files.filter((_, i) => i % EVERY === 0).map((f) => readFileSync(join(root, f), 'utf8'));
}

export const treeContainerfiles = sampleFiles('Containerfile');
export const treePackageTomls = sampleFiles('package.toml');
