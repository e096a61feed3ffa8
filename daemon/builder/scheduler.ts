/**
 * Runs a build plan (issue 5): each step after what it needs, never redoing a finished one
 * (its record is reused, its image loaded back into the engine when missing), attesting every
 * result, and gating everything above a bootstrap stage on that stage's pin. A failed or
 * blocked step blocks only what needs it; the others go on.
 */
import { checkSeeds, gate, pinFor, type Pins } from '../../protocol/bootstrap.ts';
import type { BuildPlan, BuildStep, StepId } from '../../protocol/build-plan.ts';
import type { Recipe } from '../../protocol/recipe.ts';
import type { Tree } from '../../protocol/tree/graph.ts';
import type { Verdict } from '../../protocol/threshold.ts';
import type { Log } from '../log.ts';
import { inputTag, localTag } from './api-build.ts';
import { buildImage } from './build-image.ts';
import { hasRecipeOutput, loadRecipeOutput } from './stagex-output.ts';
import type { Engine, EngineInfo } from './engine.ts';
import { BuilderError } from './errors.ts';
import { layoutTar } from '../../canonical/index.ts';
import { outputPaths, readRecord, type BuildRecord } from './outputs.ts';

export interface Attestor {
  /** Signs and submits the attestation of a finished build (store, and gossip when a daemon runs). */
  attest(record: BuildRecord): Promise<void>;
  /** Whether this reproducer's attestation of exactly this build is already stored. */
  attested(record: BuildRecord): Promise<boolean>;
  /** The store's verdict on a build identity (for quorum pins). */
  verdict(id: StepId): Promise<Verdict | undefined>;
}

export interface RunPlan {
  tree: Tree;
  plan: BuildPlan;
  engine: Engine;
  engineInfo: EngineInfo;
  /** The engine's socket (the docker CLI talks to it). */
  socketPath: string;
  /** The tree's release recipe (Docker builds with it). */
  recipe: Recipe;
  cache: string;
  outputs: string;
  pins: Pins;
  noCache: boolean;
  /** Per mirror and source, the most bytes fetched (sources.ts). Default 8 GiB. */
  maxSourceBytes?: number;
  /** The hard limit on one image's build, in ms (build-image.ts). Default 48 h. */
  buildTimeoutMs?: number;
  attestor: Attestor;
  log: Log;
  signal?: AbortSignal;
}

export type StepOutcome =
  | { status: 'built' | 'reused'; digest: string }
  | { status: 'failed'; reason: string; code: string }
  /** Not built: something it needs failed, or a bootstrap stage missed its pin. */
  | { status: 'blocked'; reason: string }
  /** Not yet: a bootstrap stage (this one, built as `digest`, or one below) waits for quorum; a later run goes on. */
  | { status: 'waiting'; reason: string; digest?: string };

export interface RunResult {
  outcomes: { step: BuildStep; outcome: StepOutcome }[];
}

/** Runs every step of the plan once; call again (e.g. when attestations arrive) to go on past `waiting`. */
export async function runPlan(run: RunPlan): Promise<RunResult> {
  const { log } = run;
  const done = new Map<string, StepOutcome>();
  const outcomes: RunResult['outcomes'] = [];
  if (run.engineInfo.name !== 'docker' && run.plan.steps.length > 0) {
    log('builder.canonical-only', { engine: `${run.engineInfo.name} ${run.engineInfo.version}`, reason: 'only Docker with buildx runs the release recipe, so these builds record the canonical digest and vouch for no StageX digest' }, 'warn');
  }
  for (const step of run.plan.steps) {
    run.signal?.throwIfAborted();
    const outcome = await runStep(run, step, done);
    done.set(keyOf(step), outcome);
    outcomes.push({ step, outcome });
    const fields = { image: step.image, platform: step.platform, inputDigest: step.inputDigest };
    if (outcome.status === 'built' || outcome.status === 'reused') log(`build.${outcome.status}`, { ...fields, digest: outcome.digest }, outcome.status === 'reused' ? 'debug' : 'info');
    else log(`build.${outcome.status}`, { ...fields, ...outcome }, outcome.status === 'failed' ? 'error' : 'warn');
  }
  return { outcomes };
}

async function runStep(run: RunPlan, step: BuildStep, done: ReadonlyMap<string, StepOutcome>): Promise<StepOutcome> {
  const below = step.needs.map((need) => ({ need, outcome: done.get(keyOf(need))! }));
  const waiting = below.find((b) => b.outcome.status === 'waiting');
  if (waiting) return { status: 'waiting', reason: `needs ${waiting.need.image}: ${(waiting.outcome as { reason: string }).reason}` };
  const unusable = below.find((b) => b.outcome.status === 'failed' || b.outcome.status === 'blocked');
  if (unusable) return { status: 'blocked', reason: `needs ${unusable.need.image}, which ${unusable.outcome.status === 'failed' ? 'failed' : 'is blocked'}` };

  const pkg = run.tree.packages.get(run.tree.images.get(step.image)!.package)!;
  const bootstrap = pkg.stage === 'bootstrap';
  const pin = pinFor(run.pins, step.image);
  try {
    if (bootstrap) {
      const problems = checkSeeds(pkg, pin);
      if (problems.length > 0) throw new BuilderError('BOOTSTRAP_GATE', `bootstrap seed check failed: ${problems.join('; ')}`);
    }
    let record = await usableRecord(run, step);
    const reused = record !== undefined;
    record ??= await build(run, step, done);
    if (bootstrap && pin.digest !== 'quorum' && pin.digest !== record.digest) {
      return { status: 'failed', code: 'BOOTSTRAP_GATE', reason: `bootstrap pin mismatch, not attested: ${step.image} built ${record.digest}, expected the pinned ${pin.digest}` };
    }
    if (!(await run.attestor.attested(record))) await run.attestor.attest(record);
    if (bootstrap) {
      const decision = gate(step.image, pin, record.digest, await run.attestor.verdict(step));
      if (decision.status === 'mismatch') return { status: 'failed', code: 'BOOTSTRAP_GATE', reason: `bootstrap gate: ${decision.reason}` };
      if (decision.status === 'pending') return { status: 'waiting', reason: decision.reason, digest: record.digest };
    }
    return { status: reused ? 'reused' : 'built', digest: record.digest };
  } catch (error) {
    if (run.signal?.aborted) throw error;
    const code = (error as { code?: unknown }).code;
    return { status: 'failed', code: typeof code === 'string' ? code : 'ERROR', reason: (error as Error).message };
  }
}

async function build(run: RunPlan, step: BuildStep, done: ReadonlyMap<string, StepOutcome>): Promise<BuildRecord> {
  const { log } = run;
  const fields = { image: step.image, platform: step.platform };
  log('build.started', { ...fields, inputDigest: step.inputDigest });
  const digests = new Map(step.needs.map((n) => [n.image, (done.get(keyOf(n)) as { digest: string }).digest]));
  return buildImage({
    tree: run.tree,
    step,
    engine: run.engine,
    engineInfo: run.engineInfo,
    recipe: run.recipe,
    socketPath: run.socketPath,
    cache: run.cache,
    outputs: run.outputs,
    dependencyDigests: digests,
    noCache: run.noCache,
    ...(run.maxSourceBytes === undefined ? {} : { maxSourceBytes: run.maxSourceBytes }),
    ...(run.buildTimeoutMs === undefined ? {} : { timeoutMs: run.buildTimeoutMs }),
    ...(run.signal ? { signal: run.signal } : {}),
    onSource: (event) => log(`source.${event.kind}`, { ...fields, ...event }, event.kind === 'cached' ? 'debug' : event.kind === 'fetched' ? 'info' : 'warn'),
    onProgress: (event) => {
      if (event.kind === 'step' && event.completed) log('build.step', { ...fields, step: event.name, cached: event.cached, ...(event.error ? { error: event.error } : {}) }, 'debug');
      else if (event.kind === 'step') log('build.step_started', { ...fields, step: event.name }, 'debug');
      else if (event.kind === 'log') log('build.output', { ...fields, step: event.step, line: event.line }, 'debug');
      else if (event.kind === 'warning') log('build.warning', { ...fields, step: event.step, message: event.message }, 'warn');
    },
  });
}

/**
 * The record of a finished build of this step that this engine can build on, or undefined. Docker
 * builds dependants from the recipe output, so a build without one (made by Podman, or before
 * StageX digests were recorded) is built again.
 */
async function usableRecord(run: RunPlan, step: BuildStep): Promise<BuildRecord | undefined> {
  const record = await readRecord(run.outputs, step.inputDigest);
  if (record === undefined) return undefined;
  const docker = run.engineInfo.name === 'docker';
  if (docker && (record.engine.stagexDigest === undefined || !(await hasRecipeOutput(outputPaths(run.outputs, step.inputDigest).stagex)))) {
    run.log('build.rebuild', { image: step.image, inputDigest: step.inputDigest, reason: 'the finished build has no recipe output (StageX digest) for Docker to build on' });
    return undefined;
  }
  await ensureLoaded(run, record);
  return record;
}

/**
 * A reused build's image must be the engine's `stagex/<image>:latest` (Podman's dependants build
 * FROM it; on Docker it is what users run): the engine's image of this very input digest is
 * re-tagged so (another tree may have moved `latest`), or, when the engine has none, loaded back
 * from the build's layout (the recipe output on Docker, the canonical layout on Podman).
 */
async function ensureLoaded(run: RunPlan, record: BuildRecord): Promise<void> {
  const pinned = inputTag(record.image, record.inputDigest);
  const paths = outputPaths(run.outputs, record.inputDigest);
  if (!(await run.engine.hasImage(pinned.name))) {
    if (run.engineInfo.name === 'docker') await loadRecipeOutput(run.engine, paths.stagex, record.image, record.inputDigest);
    else {
      await run.engine.loadImage(layoutTar(paths.layout));
      await run.engine.tag(localTag(record.image), pinned.repo, pinned.tag);
    }
    run.log('build.loaded', { image: record.image, tag: pinned.name });
  }
  await run.engine.tag(pinned.name, `stagex/${record.image}`, 'latest');
}

function keyOf(id: StepId): string {
  return `${id.image} ${id.platform}`;
}
