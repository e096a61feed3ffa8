/** `stagex-node start`, `status`, `peers` and `reload`: run the daemon, and ask a running one. */
import type { Command } from 'commander';
import type { CommandEnv } from './env.ts';
import { loadContext } from '../context.ts';
import { askDaemon, daemonReload, localApi } from '../client.ts';
import { loadConfig } from '../config.ts';
import type { ReloadSummary } from '../reload.ts';
import { createLog, type Level } from '../log.ts';
import { withProgress } from '../terminal-progress.ts';
import { startNode, type RunningNode } from '../node.ts';
import { DaemonError } from '../errors.ts';
import { table } from '../format.ts';
import { checked, configPath } from './args.ts';
import { z } from 'zod';

export function registerStart(program: Command, env: CommandEnv): void {
  program
    .command('start')
    .description('run the daemon: build the config\'s assignment, gossip and sync attestations with peers, serve the local API (stop with Ctrl-C or SIGTERM; SIGHUP reloads the config\'s trust and bootstrap peers)')
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .option('--no-build', 'do not build the config\'s assignment (only gossip, sync and answer)')
    .action(async (options: { logLevel: string; build: boolean }, command: Command) => {
      const level = checked(z.enum(['debug', 'info', 'warn', 'error']), options.logLevel, '--log-level') as Level;
      const context = await loadContext(configPath(command));
      // On a terminal the JSON lines go through the CLI's output, so the build progress line stays below them.
      const log = env.io.status ? withProgress(env.io, createLog(context.config.name, level, (line) => env.io.err(line))) : createLog(context.config.name, level);
      // SIGHUP reloads the config; one during start-up (which would otherwise end the process)
      // reloads once the node runs. A failed reload is logged (config.reload_failed) and
      // changes nothing: the daemon keeps running.
      let node: RunningNode | undefined;
      let hangup = false;
      const reload = () => void node?.reload().catch(() => undefined);
      process.on('SIGHUP', () => (node ? reload() : (hangup = true)));
      node = await startNode(context, { log, build: options.build });
      if (hangup) reload();
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log('node.stopping', { signal });
          node.stop().then(resolve, (error: Error) => {
            log('node.stop_failed', { error: error.message });
            resolve();
          });
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });

  program
    .command('status')
    .description('ask the running daemon for its peers, store and verdict counts')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const context = await loadContext(configPath(command));
      const status = await askDaemon<Record<string, unknown> & { store: { verdicts: Record<string, number>; envelopes: number; equivocating: string[] } }>(context, '/status');
      if (!status) throw new DaemonError('NOT_FOUND', `no daemon answers on ${context.config.api.listen}; start one with \`stagex-node start\``);
      if (options.json) {
        env.io.out(JSON.stringify(status));
        return;
      }
      const v = status.store.verdicts;
      env.io.out([
        `node       ${status.name} (${status.peerId})`,
        `listening  ${(status.addresses as string[]).join(' ')}`,
        `peers      ${status.peers}`,
        `store      ${status.store.envelopes} envelopes`,
        `verdicts   ${v.trusted} trusted, ${v.pending} pending, ${v.conflict} conflict`,
        ...(status.store.equivocating.length ? [`EQUIVOCATING keys: ${status.store.equivocating.join(', ')}`] : []),
      ].join('\n'));
    });

  program
    .command('peers')
    .description('list the peers the running daemon is connected to')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const context = await loadContext(configPath(command));
      const peers = await askDaemon<{ peerId: string; address: string }[]>(context, '/peers');
      if (!peers) throw new DaemonError('NOT_FOUND', `no daemon answers on ${context.config.api.listen}; start one with \`stagex-node start\``);
      env.io.out(options.json ? JSON.stringify(peers) : table(['PEER', 'ADDRESS'], peers.map((p) => [p.peerId, p.address])));
    });

  registerReload(program, env);
}

function registerReload(program: Command, env: CommandEnv): void {
  program
    .command('reload')
    .description('make the running daemon re-read its config file (as SIGHUP does): trust keys, threshold, revocations and bootstrap peers apply at once; other changes need a restart')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const config = await loadConfig(configPath(command));
      const summary = await daemonReload(await localApi(config));
      if (!summary) throw new DaemonError('NOT_FOUND', `no daemon of this config answers on ${config.api.listen}; start one with \`stagex-node start\``);
      if (options.json) {
        env.io.out(JSON.stringify(summary));
        return;
      }
      env.io.out(reloadLines(summary).join('\n'));
    });
}

/** A reload's changes, one line each, for people. */
function reloadLines(s: ReloadSummary): string[] {
  const list = (label: string, items: string[]) => (items.length > 0 ? [`${label} ${items.join(', ')}`] : []);
  return [
    `reloaded: threshold ${s.threshold} of ${s.signers} signers${s.changed ? '' : ' (nothing reloadable changed)'}`,
    ...(s.trust.threshold ? [`threshold ${s.trust.threshold.from} -> ${s.trust.threshold.to}`] : []),
    ...list('trusted now:', s.trust.added),
    ...list('no longer trusted:', s.trust.removed),
    ...list('keys changed:', s.trust.changed),
    ...list('revoked:', s.trust.revoked),
    ...list('unrevoked:', s.trust.unrevoked),
    ...list('bootstrap added:', s.bootstrap.added),
    ...list('bootstrap removed:', s.bootstrap.removed),
    ...list('NEEDS A RESTART (running values kept):', s.needsRestart),
  ];
}
