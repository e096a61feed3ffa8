/**
 * The daemon's builder (issue 5): once the network is up, it runs this reproducer's plan, and
 * runs it again whenever new attestations arrive while a step waits for a bootstrap quorum, until
 * nothing waits or the daemon stops. Finished steps are reused, so a run after the first costs
 * one record read and one engine call per step.
 */
import { answerQuery } from '../answers.ts';
import type { NodeContext } from '../context.ts';
import type { Log } from '../log.ts';
import type { AttestationStore } from '../../store/store.ts';
import type { Submit } from '../ingest.ts';
import { createAttestor } from './attestor.ts';
import { machineFacts } from './machine.ts';
import { builderLimits, checkedEngine, planRun } from './prepare.ts';
import { runPlan, type RunResult } from './scheduler.ts';

export interface BuilderInit {
  context: NodeContext;
  store: AttestationStore;
  submit: Submit;
  log: Log;
  /** Images to build instead of the assignment. */
  requested?: readonly string[];
}

export interface RunningBuilder {
  /** Settles with the last run once nothing waits (or the builder stopped). */
  readonly finished: Promise<RunResult | undefined>;
  stop(): Promise<void>;
}

export function startBuilder(init: BuilderInit): RunningBuilder {
  const { context, store, log } = init;
  const abort = new AbortController();
  let wake: (() => void) | undefined;
  store.onAdded(() => wake?.());

  const loop = async (): Promise<RunResult | undefined> => {
    const prepared = await planRun(context, init.requested);
    const { engine, engineInfo } = await checkedEngine(context.config);
    const attestor = createAttestor({ context, tree: prepared.tree, submit: init.submit, query: (params) => answerQuery(store, context.policy, params), machine: await machineFacts(engineInfo) });
    // The queue, for the status page (daemon/page/activity.ts); debug: one line of every step.
    log('builder.plan', { steps: prepared.plan.steps.map((s) => ({ image: s.image, platform: s.platform, inputDigest: s.inputDigest })) }, 'debug');
    log('builder.started', { steps: prepared.plan.steps.length, leftOut: prepared.plan.leftOut.length, engine: `${engineInfo.name} ${engineInfo.version}`, pins: prepared.pinsFile ?? null });
    for (;;) {
      const arrived = new Promise<void>((resolve) => (wake = resolve));
      const result = await runPlan({ ...prepared, engine, engineInfo, socketPath: context.config.builder.socket, cache: context.config.builder.cache, outputs: context.config.builder.outputs, ...builderLimits(context.config), attestor, log, signal: abort.signal });
      const count = (status: string) => result.outcomes.filter((o) => o.outcome.status === status).length;
      const waiting = count('waiting');
      log('builder.run', { built: count('built'), reused: count('reused'), failed: count('failed'), blocked: count('blocked'), waiting });
      if (attestor.unsigned.size > 0) log('builder.unsigned', { statements: attestor.unsigned.size, next: 'stagex-node statements export <dir>; sign the .pae files offline; stagex-node statements import <dir>' }, 'warn');
      if (waiting === 0 || abort.signal.aborted) return result;
      await Promise.race([arrived, new Promise((resolve) => abort.signal.addEventListener('abort', resolve, { once: true }))]);
      if (abort.signal.aborted) return result;
    }
  };

  const finished = loop().catch((error: Error) => {
    if (abort.signal.aborted) return undefined;
    log('builder.failed', { code: (error as { code?: string }).code, error: error.message });
    return undefined;
  });
  return {
    finished,
    async stop() {
      abort.abort(new Error('the daemon is stopping'));
      await finished;
    },
  };
}
