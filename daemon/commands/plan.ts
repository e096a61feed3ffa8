/**
 * `stagex-node plan`: the build order of a StageX tree (DESIGN sections 1 and 2), with the
 * images needed for the requested ones, their versions, platforms, targets, dependencies and
 * input digests. Every error of the tree is listed (file and line); the plan of what resolved
 * is still printed, and the exit code is 3.
 */
import type { Command } from 'commander';
import { EXIT, type CommandEnv } from '../cli.ts';
import { loadTree } from '../tree.ts';
import { loadConfig } from '../config.ts';
import { buildOrder } from '../../protocol/tree/order.ts';
import { inputDigests } from '../../protocol/tree/input-digest.ts';
import { short, table } from '../format.ts';
import { configPath } from './args.ts';

export interface PlannedImage {
  name: string;
  stage: string;
  version: string | null;
  platforms: string[];
  target: string | null;
  dependencies: string[];
  /** platform -> input digest (hex) */
  inputDigests: Record<string, string>;
}

/** The tree to plan: --tree, else the config's builder.tree, else the current directory. */
async function treeDir(option: string | undefined, command: Command): Promise<string> {
  if (option) return option;
  return loadConfig(configPath(command)).then((c) => c.builder.tree, () => '.');
}

export function registerPlan(program: Command, env: CommandEnv): void {
  program
    .command('plan')
    .description('print the build order of a StageX tree (the requested images and what they need), with input digests')
    .argument('[images...]', 'images to plan (default: all)')
    .option('--tree <dir>', 'the tree: a directory holding packages/<stage>/<name>/ (default: the config\'s builder.tree, else .)')
    .option('--json', 'print JSON')
    .action(async (images: string[], options: { tree?: string; json?: boolean }, command: Command) => {
      const tree = await loadTree(await treeDir(options.tree, command));
      for (const error of tree.errors) env.io.err(`stagex-node: ${error.message}`);
      if (tree.errors.length) env.setExit(EXIT.error);
      const requested = images.length ? images : undefined;
      const digests = inputDigests(tree, requested);
      const plan: PlannedImage[] = buildOrder(tree, requested).map((name) => {
        const image = tree.images.get(name)!;
        return {
          name,
          stage: tree.packages.get(image.package)!.stage,
          version: image.version,
          platforms: [...image.platforms],
          target: image.target,
          dependencies: [...image.dependencies],
          inputDigests: Object.fromEntries(digests.get(name)!),
        };
      });
      if (options.json) {
        env.io.out(JSON.stringify({ images: plan, errors: tree.errors.map((e) => ({ code: e.code, problem: e.problem, message: e.message })) }));
        return;
      }
      env.io.out(table(['#', 'IMAGE', 'VERSION', 'PLATFORMS', 'TARGET', 'DEPS', 'INPUT DIGEST'], plan.map((p, i) => [
        String(i + 1), p.name, p.version ?? '-', p.platforms.join(','), p.target ?? '(last stage)', String(p.dependencies.length),
        Object.values(p.inputDigests).map(short).join(','),
      ])));
      env.io.out(`${plan.length} images in build order${tree.errors.length ? `; ${tree.errors.length} error(s) above` : ''}`);
    });
}
