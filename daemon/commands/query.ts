/** `stagex-node query`: what the store knows, by image, digest or key (or everything). */
import type { Command } from 'commander';
import type { CommandEnv } from '../cli.ts';
import { loadContext, withStore } from '../context.ts';
import { queryDigest, verdictsFor } from '../../store/queries.ts';
import { keyName } from '../../protocol/trust.ts';
import { short, table, verdictTable } from '../format.ts';
import { checked, configPath, digestArg, imageArg } from './args.ts';
import { sha256HexSchema } from '../../protocol/statement.ts';
import { DaemonError } from '../errors.ts';
import type { StoreProblem } from '../../store/errors.ts';

interface QueryOptions {
  image?: string;
  digest?: string;
  key?: string;
  json?: boolean;
}

export function registerQuery(program: Command, env: CommandEnv): void {
  program
    .command('query')
    .description('show verdicts and votes from the local store, by image, digest or key')
    .option('--image <stage-name>', 'one image')
    .option('--digest <hex>', 'an output or engine digest')
    .option('--key <keyid|name>', 'what one key signed (keyid or configured name)')
    .option('--json', 'print JSON')
    .action(async (options: QueryOptions, command: Command) => {
      const filters = [options.image, options.digest, options.key].filter((f) => f !== undefined);
      if (filters.length > 1) throw new DaemonError('USAGE', 'query: give at most one of --image, --digest, --key');
      const context = await loadContext(configPath(command));
      const { policy } = context;
      const report = (problems: StoreProblem[]) => problems.forEach((p) => env.io.err(`store problem in ${p.sublevel} at ${JSON.stringify(p.key)}: ${p.problem}`));
      await withStore(context, async (store) => {
        if (options.key !== undefined) {
          const byName = [...policy.names].find(([, name]) => name === options.key)?.[0];
          const keyid = byName ?? checked(sha256HexSchema, options.key, '--key');
          const { votes, problems } = await store.votesByKey(keyid);
          report(problems);
          env.io.out(options.json
            ? JSON.stringify({ keyid, name: keyName(policy, keyid), votes })
            : `${keyName(policy, keyid)} (${keyid}) signed ${votes.length}\n` + table(['IMAGE', 'PLATFORM', 'INPUT', 'DIGEST', 'ENVELOPE'], votes.map((v) => [v.image, v.platform, short(v.inputDigest), short(v.digest), short(v.envelope)])));
          return;
        }
        const result = options.digest !== undefined
          ? await queryDigest(store, policy, digestArg(options.digest, '--digest'))
          : await verdictsFor(store, policy, options.image === undefined ? {} : { image: imageArg(options.image, '--image') });
        report(result.problems);
        env.io.out(options.json ? JSON.stringify(result) : result.verdicts.length ? verdictTable(result.verdicts, policy) : 'nothing attested matches');
      });
    });
}
