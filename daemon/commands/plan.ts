/**
 * `stagex-node plan`: the build order of a StageX tree (DESIGN sections 1 and 2), with the
 * images needed for the requested ones, their versions, platforms, targets, dependencies and
 * input digests. Every error of the tree is listed (file and line); the plan of what resolved
 * is still printed, and the exit code is 3.
 */
import type { Command } from 'commander';
import { EXIT, type CommandEnv } from './env.ts';
import { loadTree, type LoadedTree } from '../tree.ts';
import { buildOrder } from '../../protocol/tree/order.ts';
import { inputDigests } from '../../protocol/tree/input-digest.ts';
import { short, table } from '../format.ts';
import { configPath } from './args.ts';
import { DaemonError } from '../errors.ts';
import type { BuildIdentity } from '../../protocol/attestation.ts';

export interface PlannedImage {
  name: string;
  stage: string;
  version: string | null;
  platforms: string[];
  target: string | null;
  dependencies: string[];
  /** platform -> input digest (hex) */
  inputDigests: Record<string, string>;
  /** platform -> whether this reproducer builds it (with a config): chosen by assignment, needed by a chosen image, left out (why), or not. */
  here?: Record<string, 'assigned' | 'needed' | 'no' | { leftOut: string }>;
  /** platform -> the store's verdict on that build (with a config). */
  attested?: Record<string, { status: string; count: number; threshold: number }>;
}

/**
 * What the config's reproducer does with each image: its assignment and what its store says.
 * What this needs (the config, the store, the engine client behind the builder's plan) is
 * loaded only when there is a config: `plan --tree` alone is a fresh process's whole work.
 */
async function assignmentOf(configFile: string, tree: LoadedTree, identities: readonly BuildIdentity[]) {
  const { loadConfig } = await import('../config.ts');
  // No config: the plan of the tree alone. A config that is there but bad is an error like anywhere else.
  const config = await loadConfig(configFile).catch((error: unknown) => {
    if (error instanceof DaemonError && error.code === 'CONFIG_NOT_FOUND') return undefined;
    throw error;
  });
  if (!config) return undefined;
  const { loadContext } = await import('../context.ts');
  const context = await loadContext(configFile);
  const [{ planOf }, { ask }, { answerVerdicts }, { VERDICTS_PER_REQUEST }] = await Promise.all([import('../builder/prepare.ts'), import('../client.ts'), import('../answers.ts'), import('../api-request.ts')]);
  const { plan } = planOf(context, tree);
  // The verdicts of the builds shown only (one point read each), never every vote of the store.
  const verdicts = [];
  for (let i = 0; i < identities.length; i += VERDICTS_PER_REQUEST) {
    const some = identities.slice(i, i + VERDICTS_PER_REQUEST);
    verdicts.push(...(await ask(context, 'POST', '/verdicts', JSON.stringify({ identities: some }), (store) => answerVerdicts(store, context.policy, some))).verdicts);
  }
  const key = (image: string, platform: string, inputDigest: string) => `${image} ${platform} ${inputDigest}`;
  const here = new Map<string, 'assigned' | 'needed' | { leftOut: string }>([
    ...plan.steps.map((s) => [key(s.image, s.platform, s.inputDigest), s.chosen ? 'assigned' : 'needed'] as const),
    ...plan.leftOut.map((l) => [key(l.image, l.platform, l.inputDigest), { leftOut: l.reason }] as const),
  ]);
  const attested = new Map(verdicts.map((v) => [key(v.identity.image, v.identity.platform, v.identity.inputDigest), { status: v.status, count: v.count, threshold: v.threshold }]));
  return { here: (image: string, platform: string, inputDigest: string) => here.get(key(image, platform, inputDigest)) ?? 'no', attested: (image: string, platform: string, inputDigest: string) => attested.get(key(image, platform, inputDigest)) ?? { status: 'unknown', count: 0, threshold: context.policy.threshold } };
}

/** The tree to plan: --tree, else the config's builder.tree, else the current directory. */
async function treeDir(option: string | undefined, command: Command): Promise<string> {
  if (option) return option;
  const { loadConfig } = await import('../config.ts');
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
      const order = buildOrder(tree, requested);
      const identities = order.flatMap((image) => [...digests.get(image)!].map(([platform, inputDigest]) => ({ image, platform, inputDigest })));
      const assignment = tree.errors.length ? undefined : await assignmentOf(configPath(command), tree, identities);
      const plan: PlannedImage[] = order.map((name) => {
        const image = tree.images.get(name)!;
        const perPlatform = <T>(f: (platform: string, inputDigest: string) => T) => Object.fromEntries([...digests.get(name)!].map(([platform, d]) => [platform, f(platform, d)]));
        return {
          name,
          stage: tree.packages.get(image.package)!.stage,
          version: image.version,
          platforms: [...image.platforms],
          target: image.target,
          dependencies: [...image.dependencies],
          inputDigests: Object.fromEntries(digests.get(name)!),
          ...(assignment ? { here: perPlatform((p, d) => assignment.here(name, p, d)), attested: perPlatform((p, d) => assignment.attested(name, p, d)) } : {}),
        };
      });
      if (options.json) {
        env.io.out(JSON.stringify({ images: plan, errors: tree.errors.map((e) => ({ code: e.code, problem: e.problem, message: e.message })) }));
        return;
      }
      const extra = assignment ? ['HERE', 'ATTESTED'] : [];
      env.io.out(table(['#', 'IMAGE', 'VERSION', 'PLATFORMS', 'TARGET', 'DEPS', 'INPUT DIGEST', ...extra], plan.map((p, i) => [
        String(i + 1), p.name, p.version ?? '-', p.platforms.join(','), p.target ?? '(last stage)', String(p.dependencies.length),
        Object.values(p.inputDigests).map(short).join(','),
        ...(p.here && p.attested ? [
          Object.values(p.here).map((h) => (typeof h === 'string' ? h : 'elsewhere')).join(','),
          Object.values(p.attested).map((a) => `${a.status} ${a.count}/${a.threshold}`).join(','),
        ] : []),
      ])));
      env.io.out(`${plan.length} images in build order${tree.errors.length ? `; ${tree.errors.length} error(s) above` : ''}`);
    });
}
