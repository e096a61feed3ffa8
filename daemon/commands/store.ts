/**
 * `stagex-node store check`: the consistency walk of store/check.ts. A running daemon (which
 * holds the LevelDB lock) is asked through its API; otherwise the stopped node's store is
 * opened read-only: never created, nothing written. Exit 0 clean, 1 inconsistencies, 3 cannot open.
 */
import type { Command } from 'commander';
import { EXIT, type CommandEnv } from './env.ts';
import { loadConfig } from '../config.ts';
import { askDaemon } from '../client.ts';
import { AttestationStore } from '../../store/store.ts';
import { checkStore, type StoreCheck } from '../../store/check.ts';
import { configPath } from './args.ts';

export function registerStore(program: Command, env: CommandEnv): void {
  const store = program.command('store').description('inspect the attestation store');
  store
    .command('check')
    .description('check that every index, tally and OpenPGP entry points at a stored envelope and agrees with it')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const config = await loadConfig(configPath(command));
      const result = await askDaemon<StoreCheck>({ config }, '/store/check') ?? await checkStopped(config.store);
      if (result.problems.length > 0) env.setExit(EXIT.pending);
      if (options.json) {
        env.io.out(JSON.stringify({ store: config.store, ...result }));
        return;
      }
      for (const p of result.problems) env.io.out(`${p.sublevel} ${JSON.stringify(p.key)}: ${p.problem}`);
      env.io.out(`store ${config.store}: ${result.envelopes} envelopes, ${result.tallies} tallies (${result.votes} votes), ${result.keyEntries} key entries, ${result.openpgpVotes} OpenPGP votes: ${result.problems.length === 0 ? 'consistent' : `${result.problems.length} problem(s)`}`);
    });
}

async function checkStopped(path: string): Promise<StoreCheck> {
  const opened = await AttestationStore.open(path, { createIfMissing: false });
  return checkStore(opened).finally(() => opened.close());
}
