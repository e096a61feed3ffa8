/**
 * Config reload (SIGHUP, POST /reload, `stagex-node reload`): the config file read and
 * validated again exactly as at start, compared with the running one (reload-plan.ts), its
 * trust section compiled; only then applied to the context and to every service that holds
 * the policy or the bootstrap list. A file that fails any check changes nothing.
 */
import { StagexError } from '../protocol/errors.ts';
import type { TrustPolicy, TrustPolicyInput } from '../protocol/trust.ts';
import { loadConfig } from './config.ts';
import { trustOf, type NodeContext } from './context.ts';
import type { Log } from './log.ts';
import { planReload, type ReloadPlan } from './reload-plan.ts';

/** What a reload changed, as logged (`config.reloaded`) and answered to `stagex-node reload`. */
export interface ReloadSummary {
  changed: boolean;
  trust: ReloadPlan['trust'];
  bootstrap: ReloadPlan['bootstrap'];
  needsRestart: string[];
  /** The policy now running: M, and N (signers with a key not revoked). */
  threshold: number;
  signers: number;
}

/** The services a reload reaches. */
export interface Reloadable {
  peer: { setBootstrap(addrs: readonly string[]): void };
  pool: { setTrust(trust: TrustPolicyInput): void };
  gossip: { setPolicy(policy: TrustPolicy): void };
  sync: { setPolicy(policy: TrustPolicy): Promise<void> };
}

export interface Reloader {
  /** Reloads now, after any reload under way; an invalid file is logged (config.reload_failed) and thrown. */
  reload(): Promise<ReloadSummary>;
  readonly counts: { applied: number; failed: number };
}

/** `applied` runs after each reload that changed the context (e.g. to recount verdicts), before it is reported. */
export function createReloader(context: NodeContext, services: Reloadable, log: Log, applied: () => Promise<void> | void): Reloader {
  const counts = { applied: 0, failed: 0 };
  const file = context.config.file;
  let queue: Promise<unknown> = Promise.resolve();
  const once = async (): Promise<ReloadSummary> => {
    let next;
    try {
      const plan = planReload(context.config, await loadConfig(file));
      next = { plan, ...(await trustOf(plan.config, context.signer.publicKey)) };
      // Parses the addresses before anything changes: an unusable one fails the reload here.
      services.peer.setBootstrap(plan.config.network.bootstrap);
    } catch (error) {
      counts.failed += 1;
      log('config.reload_failed', { file, code: error instanceof StagexError ? error.code : 'INTERNAL', error: (error as Error).message, kept: 'the running config, unchanged' });
      throw error;
    }
    const { plan, policy, trust, keyring } = next;
    Object.assign(context, { config: plan.config, policy, trust, keyring });
    services.pool.setTrust(trust);
    services.gossip.setPolicy(policy);
    // Envelopes of a newly trusted key were refused when they came: sync fetches them now.
    void services.sync.setPolicy(policy);
    await applied();
    counts.applied += 1;
    const summary: ReloadSummary = { changed: plan.changed, trust: plan.trust, bootstrap: plan.bootstrap, needsRestart: plan.needsRestart, threshold: policy.threshold, signers: policy.signers.size };
    if (plan.needsRestart.length > 0) log('config.needs_restart', { file, fields: plan.needsRestart, kept: 'the running values, until the daemon restarts' }, 'warn');
    log('config.reloaded', { ...summary });
    return summary;
  };
  return {
    counts,
    reload() {
      const run = queue.then(once);
      queue = run.catch(() => undefined);
      return run;
    },
  };
}
