/**
 * `stagex-node sources add <dir>`: fills the source cache from a directory, for a reproducer
 * without the internet (an air-gapped machine, or this sandbox): every file named like a source
 * of the tree is checked against its pinned sha256 and copied into `builder.cache`, or refused.
 */
import type { Command } from 'commander';
import { EXIT, type CommandEnv } from './env.ts';
import { loadConfig } from '../config.ts';
import { configPath } from './args.ts';
import { DaemonError } from '../errors.ts';
import { loadTree } from '../tree.ts';
import { table } from '../format.ts';
import { addSources } from '../builder/sources.ts';

export function registerSources(program: Command, env: CommandEnv): void {
  const sources = program.command('sources').description('the source cache (builder.cache)');
  sources
    .command('add')
    .description('copy source files from a directory into the cache, each checked against the sha256 the tree pins; other bytes are refused')
    .argument('<dir>', 'a directory of source files, named as the tree\'s sources name them')
    .option('--tree <dir>', 'the StageX tree whose sources these are (default: builder.tree)')
    .option('--json', 'print JSON')
    .action(async (dir: string, options: { tree?: string; json?: boolean }, command: Command) => {
      const config = await loadConfig(configPath(command));
      const tree = await loadTree(options.tree ?? config.builder.tree);
      const rows = await addSources(dir, [...tree.packages.values()].flatMap((p) => p.sources), config.builder.cache).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' || error.code === 'ENOTDIR') throw new DaemonError('USAGE', `sources add: expected a directory of source files, got ${JSON.stringify(dir)} (${error.code})`);
        throw error;
      });
      const refused = rows.filter((r) => r.result === 'refused').length;
      if (refused > 0) env.setExit(EXIT.pending);
      if (options.json) {
        env.io.out(JSON.stringify({ cache: config.builder.cache, files: rows }));
        return;
      }
      env.io.out(table(['RESULT', 'FILE', 'SOURCES'], rows.map((r) => [r.result, r.file, r.result === 'unknown' ? '(no source of the tree)' : r.sources.join(', ')])));
      for (const row of rows) if (row.result === 'refused') env.io.err(row.reason);
      const count = (result: string) => rows.filter((r) => r.result === result).length;
      env.io.out(`${count('added')} added, ${count('cached')} already cached, ${refused} refused, ${count('unknown')} not sources of the tree; cache ${config.builder.cache}`);
    });
}
