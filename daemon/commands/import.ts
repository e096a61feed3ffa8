/** `stagex-node import`: envelopes from files and directories, each validated on its own. */
import type { Command } from 'commander';
import { EXIT, type CommandEnv } from './env.ts';
import { loadContext, withStore } from '../context.ts';
import { importFiles, storeSubmit, type ImportOutcome } from '../ingest.ts';
import { daemonRunning, daemonSubmit, localApi } from '../client.ts';
import { table } from '../format.ts';
import { configPath } from './args.ts';

export function registerImport(program: Command, env: CommandEnv): void {
  program
    .command('import')
    .description('import DSSE envelopes from files or directories; bad files are reported, good ones imported')
    .argument('<paths...>', 'files or directories')
    .option('--json', 'print JSON')
    .action(async (paths: string[], options: { json?: boolean }, command: Command) => {
      const context = await loadContext(configPath(command));
      const api = await localApi(context.config);
      const outcomes = await daemonRunning(api)
        ? await importFiles(paths, daemonSubmit(api))
        : await withStore(context, (store) => importFiles(paths, storeSubmit(store, context.policy)));
      reportImport(env, outcomes, options.json === true);
    });
}

/** One row per file (the error code in place of the result when it failed), counts, and exit 1 when any failed. */
export function reportImport(env: CommandEnv, outcomes: readonly ImportOutcome[], json: boolean): void {
  const failed = outcomes.filter((o) => o.result === 'error').length;
  if (failed > 0) env.setExit(EXIT.pending);
  if (json) {
    env.io.out(JSON.stringify({ outcomes }));
    return;
  }
  env.io.out(table(['RESULT', 'FILE', 'DETAIL'], outcomes.map((o) => [o.result === 'error' ? o.code : o.result, o.file, o.result === 'error' ? o.error : o.hash])));
  const count = (r: string) => outcomes.filter((o) => o.result === r).length;
  env.io.out(`${count('added')} added, ${count('present')} already present, ${failed} failed`);
}
