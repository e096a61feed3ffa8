/** `stagex-node start`, `status` and `peers`: run the daemon, and ask a running one. */
import type { Command } from 'commander';
import type { CommandEnv } from './env.ts';
import { loadContext } from '../context.ts';
import { askDaemon } from '../client.ts';
import { createLog, type Level } from '../log.ts';
import { startNode } from '../node.ts';
import { DaemonError } from '../errors.ts';
import { table } from '../format.ts';
import { checked, configPath } from './args.ts';
import { z } from 'zod';

export function registerStart(program: Command, env: CommandEnv): void {
  program
    .command('start')
    .description('run the daemon: build the config\'s assignment, gossip and sync attestations with peers, serve the local API (stop with Ctrl-C or SIGTERM)')
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .option('--no-build', 'do not build the config\'s assignment (only gossip, sync and answer)')
    .action(async (options: { logLevel: string; build: boolean }, command: Command) => {
      const level = checked(z.enum(['debug', 'info', 'warn', 'error']), options.logLevel, '--log-level') as Level;
      const context = await loadContext(configPath(command));
      const log = createLog(context.config.name, level);
      const node = await startNode(context, { log, build: options.build });
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
}
