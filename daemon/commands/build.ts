/**
 * `stagex-node build [images...]`: builds this reproducer's assignment (or the images named, and
 * what they need) through the engine, attests every result, and prints what happened per image.
 * Progress goes to stderr as it happens. With a daemon running, attestations go through it (and
 * are gossiped); without one, into the store directly (sync hands them on later).
 */
import type { Command } from 'commander';
import { EXIT, type CommandEnv } from './env.ts';
import { answerQuery, type QueryAnswer, type QueryParams } from '../answers.ts';
import { createAttestor } from '../builder/attestor.ts';
import type { WaitingStatement } from '../signer/waiting.ts';
import { machineFacts } from '../builder/machine.ts';
import { builderLimits, checkedEngine, planRun } from '../builder/prepare.ts';
import { runPlan, type RunResult } from '../builder/scheduler.ts';
import { daemonQuery, daemonRunning, daemonSubmit, localApi } from '../client.ts';
import { loadContext, withStore } from '../context.ts';
import { short, table } from '../format.ts';
import type { Submit } from '../ingest.ts';
import { storeSubmit } from '../ingest.ts';
import type { Log } from '../log.ts';
import { withProgress } from '../terminal-progress.ts';
import { configPath, imageArg } from './args.ts';
import { DaemonError } from '../errors.ts';

interface BuildOptions {
  tree?: string;
  follow?: string;
  verbose?: boolean;
  json?: boolean;
}

export function registerBuild(program: Command, env: CommandEnv): void {
  program
    .command('build')
    .description('build this reproducer\'s images (or the ones named, with what they need) through the engine, and attest each result')
    .argument('[images...]', 'images to build instead of the config\'s assignment')
    .option('--tree <dir>', 'the tree (default: the config\'s builder.tree)')
    .option('--verbose', 'also print every line of build output')
    .option('--json', 'print the outcome per image as JSON')
    .option('--follow <image>', 'build nothing: stream the running daemon\'s build of this image (its log, then its outcome)')
    .action(async (images: string[], options: BuildOptions, command: Command) => {
      const context = await loadContext(configPath(command));
      if (options.follow !== undefined) {
        if (images.length > 0) throw new DaemonError('USAGE', 'build --follow <image>: expected no other image names, it follows one build of the daemon');
        return (await import('./follow.ts')).followBuild(env, context, imageArg(options.follow, '--follow'));
      }
      const prepared = await planRun(context, images, options.tree);
      for (const left of prepared.plan.leftOut) env.io.err(`not built here: ${left.image} (${left.platform}): ${left.reason}`);
      if (prepared.plan.steps.length === 0) {
        env.io.err(images.length > 0 ? 'nothing to build here (see above)' : `nothing is assigned to this reproducer (builder.assign ${JSON.stringify(context.config.builder.assign)}${context.config.builder.assign === 'auto' && !context.policy.voters.has(context.signer.keyid) ? ': auto assigns only trusted keys, and this node\'s key is not in trust.keys' : ''}); name images to build them`);
        return;
      }
      const { engine, engineInfo } = await checkedEngine(context.config);
      const machine = await machineFacts(engineInfo);
      const log = withProgress(env.io, terminalLog(env, options.verbose === true), prepared.plan.steps.length);
      const api = await localApi(context.config);
      const run = async (submit: Submit, query: (params: QueryParams) => Promise<QueryAnswer>) => {
        const attestor = createAttestor({ context, tree: prepared.tree, submit, query, machine });
        const result = await runPlan({
          ...prepared, engine, engineInfo, log, attestor, socketPath: context.config.builder.socket,
          cache: context.config.builder.cache, outputs: context.config.builder.outputs, ...builderLimits(context.config),
        });
        return { result, unsigned: [...attestor.unsigned.values()] };
      };
      const { result, unsigned } = await daemonRunning(api)
        ? await run(daemonSubmit(api), (params) => daemonQuery(api, params))
        : await withStore(context, (store) => run(storeSubmit(store, context.policy), (params) => answerQuery(store, context.policy, params)));
      report(env, result, unsigned, options.json === true);
    });
}

/** Builds whose statement waits for an offline signature count as waiting (exit 1), not failed. */
function report(env: CommandEnv, result: RunResult, unsigned: readonly WaitingStatement[], json: boolean): void {
  const waitsForSignature = new Set(unsigned.map((s) => s.inputDigest));
  const rows = result.outcomes.map(({ step, outcome }) => ({
    image: step.image,
    platform: step.platform,
    inputDigest: step.inputDigest,
    ...outcome,
    ...(waitsForSignature.has(step.inputDigest) ? { unsigned: true } : {}),
  }));
  if (json) env.io.out(JSON.stringify({ images: rows, unsigned: unsigned.length }));
  else {
    env.io.out(table(['IMAGE', 'PLATFORM', 'RESULT', 'DIGEST / REASON'], rows.map((r) => [r.image, r.platform, `${r.status}${'unsigned' in r ? ' (unsigned)' : ''}`, 'reason' in r ? r.reason : short(r.digest)])));
    if (unsigned.length > 0) env.io.out(`${unsigned.length} statement(s) wait for offline signing: stagex-node statements export <dir>, sign the .pae files elsewhere, then stagex-node statements import <dir>`);
  }
  const statuses = new Set(rows.map((r) => r.status));
  if (statuses.has('failed') || statuses.has('blocked')) env.setExit(EXIT.error);
  else if (statuses.has('waiting') || unsigned.length > 0) env.setExit(EXIT.pending);
}

/** Progress for people: one line per event on stderr; build output lines only when verbose. */
function terminalLog(env: CommandEnv, verbose: boolean): Log {
  return (event, fields = {}) => {
    const { image, platform, line, step, ...rest } = fields as Record<string, unknown>;
    if (event === 'build.output') {
      if (verbose) env.io.err(`  ${String(image)} | ${String(line)}`);
      return;
    }
    if (event === 'build.step') {
      env.io.err(`  ${String(image)} > ${String(step)}${rest.cached === true ? ' (cached)' : ''}`);
      return;
    }
    const details = Object.entries(rest).filter(([k]) => !['kind', 'source', 'path'].includes(k) || event.startsWith('source.')).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
    env.io.err([event, image, platform, ...details].filter((p) => p !== undefined).join(' '));
  };
}
