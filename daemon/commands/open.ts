/**
 * `stagex-node open`: prints a one-time login URL of the running daemon's status page
 * (daemon/page/session.ts), made with the token this user can read and the daemon proved it holds.
 */
import type { Command } from 'commander';
import type { CommandEnv } from './env.ts';
import { loadContext } from '../context.ts';
import { daemonRunning, localApi } from '../client.ts';
import { DaemonError } from '../errors.ts';
import { LOGIN_TTL_MS, loginUrl } from '../page/session.ts';
import { configPath } from './args.ts';

export function registerOpen(program: Command, env: CommandEnv): void {
  program
    .command('open')
    .description(`print a one-time login URL of the running daemon's status page (valid ${LOGIN_TTL_MS / 60_000} minutes, once)`)
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { config } = await loadContext(configPath(command));
      if (config.api.listen.startsWith('/')) {
        throw new DaemonError('USAGE', `open: api.listen is the unix socket ${config.api.listen}, which a browser cannot reach; serve the API on loopback TCP (api.listen "127.0.0.1:<port>") to use the status page`);
      }
      const api = await localApi(config);
      // The URL goes only to a daemon that proved it holds the token (DESIGN section 8).
      if (api.token === undefined || !(await daemonRunning(api))) throw new DaemonError('NOT_FOUND', `open: no daemon of this config answers on ${config.api.listen}; start one with \`stagex-node start\``);
      const url = loginUrl(config.api.listen, api.token, Date.now());
      env.io.out(options.json ? JSON.stringify({ url, expiresInSeconds: LOGIN_TTL_MS / 1000 }) : `${url}\n(open it in a browser on this machine within ${LOGIN_TTL_MS / 60_000} minutes; it works once)`);
    });
}
