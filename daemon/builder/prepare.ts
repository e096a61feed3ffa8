/**
 * Everything a build run needs from the config, read and checked before anything is built: the
 * tree and its input digests, what this reproducer builds (assignment, or the images asked for),
 * the bootstrap pins, and the engine (its version and BuildKit checked at once, not mid-build).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isAssigned, type AssignInput } from '../../protocol/assign.ts';
import { parsePins, type Pins } from '../../protocol/bootstrap.ts';
import { planBuilds, type BuildPlan, type StepId } from '../../protocol/build-plan.ts';
import { StagexError } from '../../protocol/errors.ts';
import { DEFAULT_RECIPE, parseRecipe, type Recipe } from '../../protocol/recipe.ts';
import { inputDigests, type InputDigests } from '../../protocol/tree/input-digest.ts';
import type { Config } from '../config.ts';
import type { NodeContext } from '../context.ts';
import { DaemonError } from '../errors.ts';
import { loadTree, type LoadedTree } from '../tree.ts';
import { runnablePlatforms } from './platforms.ts';
import type { Engine, EngineInfo } from './engine.ts';
import { BuilderError } from './errors.ts';

export interface PlannedRun {
  tree: LoadedTree;
  /** The tree's release recipe, or the built-in one (recipe.ts). */
  recipe: Recipe;
  digests: InputDigests;
  plan: BuildPlan;
  pins: Pins;
  /** Where the pins came from; none when the tree has no pins file (every bootstrap stage then needs quorum). */
  pinsFile?: string;
}

/** The pins of `config.builder.pins`, else of `<tree>/bootstrap/pins.json` when it exists, else none. */
/** How the config bounds each build: the engine's cache, bytes per source, time per build. */
export function builderLimits(config: Config): { noCache: boolean; maxSourceBytes: number; buildTimeoutMs: number } {
  const { noCache, maxSourceBytes, buildTimeoutSeconds } = config.builder;
  return { noCache, maxSourceBytes, buildTimeoutMs: buildTimeoutSeconds * 1000 };
}

export async function loadPins(config: Config): Promise<{ pins: Pins; file?: string }> {
  const file = config.builder.pins ?? join(config.builder.tree, 'bootstrap', 'pins.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && config.builder.pins === undefined) return { pins: new Map() };
    throw new DaemonError('NOT_FOUND', `bootstrap pins ${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    return { pins: parsePins(JSON.parse(text), `bootstrap pins ${file}`), file };
  } catch (error) {
    if (error instanceof SyntaxError) throw new DaemonError('BAD_CONFIG', `bootstrap pins ${file}: not valid JSON (${error.message})`);
    if (error instanceof StagexError) throw new DaemonError('BAD_CONFIG', error.message, { cause: error });
    throw error;
  }
}

/**
 * The release recipe of the tree at `dir`: its `src/targets.py` and `src/global.mk`, read, never
 * run; the built-in recipe when it has none. BAD_TREE when the recipe is there but unreadable.
 */
export async function loadRecipe(dir: string): Promise<Recipe> {
  const read = (file: string) => readFile(join(dir, 'src', file), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new DaemonError('BAD_TREE', `${join(dir, 'src', file)}: cannot read (${error.code ?? error.message})`);
  });
  const targets = await read('targets.py');
  if (targets === undefined) return DEFAULT_RECIPE;
  try {
    return parseRecipe(targets, (await read('global.mk')) ?? '', join(dir, 'src', 'targets.py'));
  } catch (error) {
    if (error instanceof StagexError) throw new DaemonError('BAD_TREE', error.message, { cause: error });
    throw error;
  }
}

/** The assignment of the config (`builder.assign`, `builder.replicas`, the trusted keys). */
export function assignmentOf(context: NodeContext): AssignInput {
  const { config, policy } = context;
  const replicas = config.builder.replicas ?? config.trust.threshold;
  if (config.builder.assign === 'auto' && replicas < config.trust.threshold) {
    throw new DaemonError('BAD_CONFIG', `config ${config.file}: builder.replicas ${replicas} is below trust.threshold ${config.trust.threshold}: no image would get enough builders to be trusted`);
  }
  return { assign: config.builder.assign, voters: [...policy.voters.keys()], self: context.signer.keyid, replicas };
}

/** The platforms this reproducer builds: `builder.platforms`, else those this machine runs (detected: platforms.ts). */
export function platformsOf(config: Config): string[] {
  return config.builder.platforms ?? runnablePlatforms();
}

/**
 * Reads the tree, plans the run and reads the pins. `requested` (image names) replaces the
 * assignment; a tree error fails the run (a build must not go on from a partial tree).
 */
export async function planRun(context: NodeContext, requested: readonly string[] = [], treeDir = context.config.builder.tree): Promise<PlannedRun> {
  const tree = await loadTree(treeDir);
  if (tree.errors.length > 0) throw new DaemonError('BAD_TREE', `tree ${treeDir}: ${tree.errors.length} error(s):\n${tree.errors.map((e) => `  ${e.message}`).join('\n')}`);
  for (const image of requested) {
    if (!tree.images.has(image)) throw new DaemonError('USAGE', `image ${JSON.stringify(image)}: expected an image of the tree ${treeDir}, got none of that name`);
  }
  const { digests, plan } = planOf(context, tree, requested);
  const { pins, file } = await loadPins(context.config);
  return { tree, recipe: await loadRecipe(treeDir), digests, plan, pins, ...(file ? { pinsFile: file } : {}) };
}

/** The build plan of a tree already read: `requested` images, else the config's assignment. */
export function planOf(context: NodeContext, tree: LoadedTree, requested: readonly string[] = []): { digests: InputDigests; plan: BuildPlan } {
  const digests = inputDigests(tree);
  const assignment = assignmentOf(context);
  const choose = requested.length > 0
    ? (id: StepId) => requested.includes(id.image)
    : (id: StepId) => isAssigned(assignment, id.image, id.inputDigest);
  return { digests, plan: planBuilds(tree, digests, platformsOf(context.config), choose) };
}

/**
 * The engine at `builder.socket`, checked at once (version, BuildKit) and against
 * `builder.engine`: ENGINE_MISMATCH when another kind of engine answers there. The engine
 * client (dockerode, ssh2, grpc: ~200 modules) is loaded here, not with this file: `plan`
 * uses planOf and never talks to an engine.
 */
export async function checkedEngine(config: Config): Promise<{ engine: Engine; engineInfo: EngineInfo }> {
  const [{ connectEngine }, { checkBuildx }] = await Promise.all([import('./engine.ts'), import('./buildx.ts')]);
  const engine = connectEngine({ socketPath: config.builder.socket });
  const engineInfo = await engine.check();
  if (engineInfo.name === 'docker') checkBuildx(config.builder.socket, await engine.driverStatus());
  if (engineInfo.name !== config.builder.engine) {
    throw new BuilderError('ENGINE_MISMATCH', `config ${config.file}: builder.engine is ${config.builder.engine}, but ${engineInfo.name} ${engineInfo.version} answers at ${config.builder.socket}`);
  }
  return { engine, engineInfo };
}
