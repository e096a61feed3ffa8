/**
 * `stagex-node statements export|import <dir>`: offline signing (DESIGN section 4). Export writes
 * what waits for this node's key (builds recorded, not yet attested by it) for an ed25519 tool on
 * another machine; import turns the signatures written beside them into envelopes and submits
 * them like any import (through the running daemon, so they are gossiped, or into the store).
 */
import type { Command } from 'commander';
import type { CommandEnv } from './env.ts';
import { reportImport } from './import.ts';
import { answerQuery, type QueryAnswer } from '../answers.ts';
import { identityKey } from '../../protocol/attestation.ts';
import { daemonQuery, daemonRunning, daemonSubmit, localApi } from '../client.ts';
import { loadContext, withStore, type NodeContext } from '../context.ts';
import { short, table } from '../format.ts';
import { storeSubmit } from '../ingest.ts';
import { exportStatements, importSignatures } from '../signer/statement-files.ts';
import { listWaiting } from '../signer/waiting.ts';
import { configPath } from './args.ts';

export function registerStatements(program: Command, env: CommandEnv): void {
  const statements = program.command('statements').description('offline signing: export the statements waiting for this node\'s key, import their signatures');

  statements
    .command('export')
    .description('write every finished build\'s statement this key has not attested yet (<name>.payload.json, <name>.pae to sign, index.json) into a directory')
    .argument('<dir>', 'directory to write (created when missing)')
    .option('--json', 'print JSON')
    .action(async (dir: string, options: { json?: boolean }, command: Command) => {
      const context = await loadContext(configPath(command));
      const attested = new Set((await ownVotes(context)).map((v) => `${identityKey(v)} ${v.digest}`));
      const waiting = (await listWaiting(context.config.builder.outputs)).filter((s) => !attested.has(`${identityKey(s)} ${s.digest}`));
      const exported = await exportStatements(dir, waiting, context.signer);
      if (options.json) {
        env.io.out(JSON.stringify({ keyid: context.signer.keyid, statements: exported }));
        return;
      }
      if (exported.length === 0) {
        env.io.out(`nothing waits for a signature by ${context.signer.keyid}`);
        return;
      }
      env.io.out(table(['IMAGE', 'PLATFORM', 'INPUT', 'DIGEST', 'SIGN', 'WRITE THE SIGNATURE TO'], exported.map((e) => [e.image, e.platform, short(e.inputDigest), short(e.digest), e.pae, e.sig])));
      env.io.out(`${exported.length} statement(s) to sign with keyid ${context.signer.keyid}; then: stagex-node statements import ${dir}`);
    });

  statements
    .command('import')
    .description('assemble envelopes from the .sig files beside exported statements, verify and submit them; bad files are reported, good ones imported')
    .argument('<dir>', 'a directory written by `statements export`, with .sig files added')
    .option('--json', 'print JSON')
    .action(async (dir: string, options: { json?: boolean }, command: Command) => {
      const context = await loadContext(configPath(command));
      const api = await localApi(context.config);
      const outputs = context.config.builder.outputs;
      const outcomes = await daemonRunning(api)
        ? await importSignatures(dir, outputs, context.signer, daemonSubmit(api))
        : await withStore(context, (store) => importSignatures(dir, outputs, context.signer, storeSubmit(store, context.policy)));
      reportImport(env, outcomes, options.json === true);
    });
}

/** What this node's key has attested: from the running daemon, or the store. */
async function ownVotes(context: NodeContext): Promise<(QueryAnswer & { kind: 'key' })['votes']> {
  const api = await localApi(context.config);
  const params = { key: context.signer.keyid };
  const answer = await daemonRunning(api)
    ? await daemonQuery(api, params)
    : await withStore(context, (store) => answerQuery(store, context.policy, params));
  return answer.kind === 'key' ? answer.votes : [];
}
