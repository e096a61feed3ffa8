/** `stagex-node query`: what the store knows, by image, digest or key (or everything). */
import type { Command } from 'commander';
import type { CommandEnv } from './env.ts';
import { loadContext } from '../context.ts';
import { ask } from '../client.ts';
import { answerQuery } from '../answers.ts';
import { short, table, verdictTable } from '../format.ts';
import { configPath, digestArg, imageArg } from './args.ts';
import { DaemonError } from '../errors.ts';

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
      const params = {
        ...(options.image !== undefined ? { image: imageArg(options.image, '--image') } : {}),
        ...(options.digest !== undefined ? { digest: digestArg(options.digest, '--digest') } : {}),
        ...(options.key !== undefined ? { key: options.key } : {}),
      };
      const answer = await ask(context, 'GET', `/query?${new URLSearchParams(params)}`, undefined, (store) => answerQuery(store, policy, params));
      answer.problems.forEach((p) => env.io.err(`store problem in ${p.sublevel} at ${JSON.stringify(p.key)}: ${p.problem}`));
      if (options.json) {
        env.io.out(JSON.stringify(answer));
      } else if (answer.kind === 'key') {
        env.io.out(`${answer.name} (${answer.keyid}) signed ${answer.votes.length}\n` + table(['IMAGE', 'PLATFORM', 'INPUT', 'DIGEST', 'ENVELOPE'], answer.votes.map((v) => [v.image, v.platform, short(v.inputDigest), short(v.digest), short(v.envelope)])));
      } else {
        env.io.out(answer.verdicts.length ? verdictTable(answer.verdicts, policy) : 'nothing attested matches');
        if (answer.openpgp?.length) {
          const signer = (fingerprint: string) => policy.openpgpVoters.get(fingerprint) ?? 'not counted (revoked or no longer configured)';
          env.io.out(`StageX OpenPGP signatures\n${table(['IMAGE', 'DIGEST', 'SIGNER', 'FINGERPRINT', 'CREATED', 'FILE'], answer.openpgp.map((v) => [v.image, short(v.digest), signer(v.fingerprint), v.fingerprint.toUpperCase(), v.created, short(v.file)]))}`);
        }
      }
    });
}
