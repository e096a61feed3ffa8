/** `stagex-node export`: stored envelopes as files, and StageX digests files of what is trusted. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { CommandEnv } from './env.ts';
import { loadContext, withStore } from '../context.ts';
import { trustedDigests, verdictsFor } from '../../store/queries.ts';
import { configPath } from './args.ts';

export function registerExport(program: Command, env: CommandEnv): void {
  program
    .command('export')
    .description('write every stored envelope to <dir>/envelopes/<hash>.json and trusted digests to <dir>/digests/<stage>.txt')
    .argument('<dir>', 'output directory')
    .option('--json', 'print JSON')
    .action(async (dir: string, options: { json?: boolean }, command: Command) => {
      const context = await loadContext(configPath(command));
      const summary = await withStore(context, async (store) => {
        await mkdir(join(dir, 'envelopes'), { recursive: true });
        let envelopes = 0;
        for await (const hash of store.hashes()) {
          const bytes = await store.get(hash);
          if (!bytes) continue;
          await writeFile(join(dir, 'envelopes', `${hash}.json`), bytes);
          envelopes += 1;
        }
        const trusted = trustedDigests((await verdictsFor(store, context.policy)).verdicts);
        const byStage = new Map<string, string[]>();
        for (const [image, digest] of [...trusted].sort(([a], [b]) => (a < b ? -1 : 1))) {
          const stage = image.slice(0, image.indexOf('-'));
          byStage.set(stage, [...(byStage.get(stage) ?? []), `${digest} ${image}`]);
        }
        await mkdir(join(dir, 'digests'), { recursive: true });
        for (const [stage, lines] of byStage) await writeFile(join(dir, 'digests', `${stage}.txt`), lines.join('\n') + '\n');
        return { envelopes, trusted: trusted.size };
      });
      env.io.out(options.json ? JSON.stringify(summary) : `exported ${summary.envelopes} envelopes and ${summary.trusted} trusted digests to ${dir}`);
    });
}
