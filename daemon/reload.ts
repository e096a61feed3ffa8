/**
 * Reading a config reload (SIGHUP, `stagex-node reload`): the config file read and validated
 * again exactly as at start, compared with the running one (reload-plan.ts), and its trust
 * section compiled. Throws BAD_CONFIG or CONFIG_NOT_FOUND before anything changes; the node
 * (node.ts) applies the result.
 */
import { loadConfig } from './config.ts';
import { trustOf, type NodeContext } from './context.ts';
import { planReload, type ReloadPlan } from './reload-plan.ts';

export type Reload = Pick<NodeContext, 'policy' | 'trust' | 'keyring'> & { plan: ReloadPlan };

/** What the node would run on after reloading its config file. */
export async function readReload(context: NodeContext): Promise<Reload> {
  const plan = planReload(context.config, await loadConfig(context.config.file));
  return { plan, ...(await trustOf(plan.config, context.signer.publicKey)) };
}

/** What a reload changed, as logged (`config.reloaded`) and answered to `stagex-node reload`. */
export function reloadSummary(plan: ReloadPlan, context: Pick<NodeContext, 'policy'>) {
  return {
    changed: plan.changed,
    trust: plan.trust,
    bootstrap: plan.bootstrap,
    needsRestart: plan.needsRestart,
    threshold: context.policy.threshold,
    signers: context.policy.signers.size,
  };
}
export type ReloadSummary = ReturnType<typeof reloadSummary>;
