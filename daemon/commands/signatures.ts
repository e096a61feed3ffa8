/**
 * `stagex-node signatures`: StageX's own OpenPGP image signatures (DESIGN sections 4 and 5).
 * `import` reads a signatures checkout and stores each valid signature by a configured signer
 * as a vote; `sign` writes this signer's signatures, as StageX's sign.sh does, for the StageX
 * digests the network agreed on through attestations.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { EXIT, type CommandEnv } from './env.ts';
import { loadContext, withStore } from '../context.ts';
import { ask, daemonRunning, daemonSignatures, localApi } from '../client.ts';
import { answerQuery } from '../answers.ts';
import { short, table } from '../format.ts';
import { configPath, imageArg } from './args.ts';
import { readSignatureFiles, signaturesRoot } from '../signature-files.ts';
import { failedOutcomes, importSignatures, type SignatureOutcome } from '../signature-import.ts';
import { gpgCommand, signDigests, type SignOutcome } from '../signature-writer.ts';
import { agreedEngineDigests } from '../../protocol/manifest.ts';
import { fingerprintOf } from '../../protocol/trust.ts';
import { DaemonError } from '../errors.ts';
import { StagexError } from '../../protocol/errors.ts';

function detail(o: SignatureOutcome): string {
  switch (o.result) {
    case 'imported':
    case 'present': return `${o.signer} (${o.fingerprint.toUpperCase()}), signed ${o.created}`;
    case 'unknown-signer': return `signed by key ${o.issuer}, not in the config: skipped`;
    case 'mismatch':
    case 'invalid': return o.error;
  }
}

function signDetail(o: SignOutcome): string {
  return o.result === 'failed' ? o.error : `${o.file} (${o.fingerprint.toUpperCase()})`;
}

export function registerSignatures(program: Command, env: CommandEnv): void {
  const signatures = program.command('signatures').description('StageX\'s own OpenPGP image signatures (signatures/stagex/<image>@sha256=<hex>/signature-<n>)');
  signatures
    .command('import')
    .description('verify a StageX signatures checkout against the configured OpenPGP signers and store the valid signatures as votes')
    .argument('<dir>', 'a checkout holding signatures/stagex/, or that signatures/stagex directory itself')
    .option('--json', 'print JSON')
    .action(async (dir: string, options: { json?: boolean }, command: Command) => {
      const context = await loadContext(configPath(command));
      const root = await signaturesRoot(dir);
      const { files, unreadable } = await readSignatureFiles(root);
      const api = await localApi(context.config);
      const checked = await daemonRunning(api)
        ? await daemonSignatures(api, files)
        : await withStore(context, (store) => importSignatures(files, context.keyring, store, new Date()));
      const outcomes = [...unreadable.map((u): SignatureOutcome => ({ file: u.path, result: 'invalid', code: u.code, error: u.error })), ...checked]
        .map((o) => ({ ...o, file: join(root, o.file) }))
        .sort((a, b) => (a.file < b.file ? -1 : 1));
      const failed = failedOutcomes(outcomes).length;
      if (failed > 0) env.setExit(EXIT.pending);
      if (options.json) {
        env.io.out(JSON.stringify({ outcomes }));
        return;
      }
      if (context.keyring.certificates.length === 0) env.io.err('note: no trust.keys entry has openpgp keys, so every signature is by a key not in the config');
      env.io.out(table(['RESULT', 'FILE', 'DETAIL'], outcomes.map((o) => [o.result, o.file, detail(o)])));
      const count = (r: SignatureOutcome['result']) => outcomes.filter((o) => o.result === r).length;
      env.io.out(`${count('imported')} imported, ${count('present')} already stored, ${count('unknown-signer')} by keys not in the config, ${count('invalid')} invalid, ${count('mismatch')} not matching their path`);
    });
  signatures
    .command('sign')
    .description('sign, as StageX\'s sign.sh does, each StageX digest at least M signers recorded in attestations, into <out>/signatures/stagex/')
    .argument('<out>', 'the signatures checkout to write into (created when missing)')
    .argument('[images...]', 'only these images (default: every image with an agreed digest)')
    .option('--sign-command <command>', 'the command that reads the payload on stdin and writes the signed message on stdout, split on spaces, run without a shell (default: gpg --sign --no-armor [--local-user <fingerprint>])')
    .option('--local-user <fingerprint>', 'the primary key fingerprint to sign with (passed to gpg as --local-user); also tells which existing signatures are this signer\'s')
    .option('--json', 'print JSON')
    .action(async (out: string, images: string[], options: { signCommand?: string; localUser?: string; json?: boolean }, command: Command) => {
      const context = await loadContext(configPath(command));
      const { policy } = context;
      const wanted = new Set(images.map((image) => imageArg(image, 'signatures sign [images...]')));
      const fingerprint = options.localUser === undefined ? undefined : usage(() => fingerprintOf(options.localUser!, '--local-user'));
      const answer = await ask(context, 'GET', '/query?', undefined, (store) => answerQuery(store, policy, {}));
      if (answer.kind !== 'verdicts') throw new DaemonError('NOT_FOUND', 'signatures sign: expected verdicts from the store');
      const agreed = agreedEngineDigests(answer.verdicts, policy).filter((a) => wanted.size === 0 || wanted.has(a.image));
      const missing = [...wanted].filter((image) => !agreed.some((a) => a.image === image));
      missing.forEach((image) => env.io.err(`${image}: no StageX digest recorded by ${policy.threshold} signers' attestations yet: not signed`));
      const outcomes = await signDigests(agreed, {
        out,
        command: options.signCommand === undefined ? gpgCommand(fingerprint) : commandArgv(options.signCommand),
        ...(fingerprint ? { fingerprint } : {}),
        keyring: context.keyring,
        now: () => new Date(),
      });
      if (outcomes.some((o) => o.result === 'failed') || missing.length > 0) env.setExit(EXIT.pending);
      if (options.json) {
        env.io.out(JSON.stringify({ outcomes, missing }));
        return;
      }
      env.io.out(outcomes.length ? table(['RESULT', 'IMAGE', 'DIGEST', 'DETAIL'], outcomes.map((o) => [o.result, o.image, short(o.digest), signDetail(o)])) : 'no StageX digest is agreed on yet');
    });
}

function commandArgv(value: string): string[] {
  const argv = value.trim().split(/\s+/).filter((w) => w !== '');
  if (argv.length === 0) throw new DaemonError('USAGE', '--sign-command: expected a command, got an empty string');
  return argv;
}

/** A bad option value is a USAGE error. */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof StagexError) throw new DaemonError('USAGE', error.message);
    throw error;
  }
}
