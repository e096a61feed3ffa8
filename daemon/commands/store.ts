/**
 * `stagex-node store check`: the consistency walk of store/check.ts on a stopped node's store
 * (a running daemon holds the LevelDB lock: STORE_OPEN_FAILED says so). Read-only: it never
 * creates a store, and writes nothing. Exit 0 clean, 1 inconsistencies found, 3 cannot open.
 */
import type { Command } from 'commander';
import { EXIT, type CommandEnv } from './env.ts';
import { loadConfig } from '../config.ts';
import { AttestationStore } from '../../store/store.ts';
import { checkStore } from '../../store/check.ts';
import { configPath } from './args.ts';

export function registerStore(program: Command, env: CommandEnv): void {
  const store = program.command('store').description('maintain the attestation store of a stopped node');
  store
    .command('check')
    .description('check that every index, tally and OpenPGP entry points at a stored envelope and agrees with it')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const config = await loadConfig(configPath(command));
      const opened = await AttestationStore.open(config.store, { createIfMissing: false });
      const result = await checkStore(opened).finally(() => opened.close());
      if (result.problems.length > 0) env.setExit(EXIT.pending);
      if (options.json) {
        env.io.out(JSON.stringify({ store: config.store, ...result }));
        return;
      }
      for (const p of result.problems) env.io.out(`${p.sublevel} ${JSON.stringify(p.key)}: ${p.problem}`);
      env.io.out(`store ${config.store}: ${result.envelopes} envelopes, ${result.tallies} tallies (${result.votes} votes), ${result.keyEntries} key entries, ${result.openpgpVotes} OpenPGP votes: ${result.problems.length === 0 ? 'consistent' : `${result.problems.length} problem(s)`}`);
    });
}
