/**
 * The `stagex-node` command line (DESIGN section 8). Each command lives in daemon/commands/;
 * this file wires them, the shared options, error reporting and exit codes:
 * 0 ok (verify: trusted), 1 (verify: pending or unknown; import: some files failed),
 * 2 (verify: conflict), 3 an error (bad config, bad input, I/O), 64 bad usage.
 */
import { Command, CommanderError } from 'commander';
import { StagexError } from '../protocol/errors.ts';
import { registerAttest } from './commands/attest.ts';
import { registerExport } from './commands/export.ts';
import { registerImport } from './commands/import.ts';
import { registerInit } from './commands/init.ts';
import { registerKeys } from './commands/keys.ts';
import { registerQuery } from './commands/query.ts';
import { registerTrust } from './commands/trust.ts';
import { registerVerify } from './commands/verify.ts';
import { registerStart } from './commands/start.ts';
import { registerPlan } from './commands/plan.ts';
import { registerBuild } from './commands/build.ts';

export const EXIT = { ok: 0, pending: 1, conflict: 2, error: 3, usage: 64 } as const;

/** Output sinks, injectable so tests can run the CLI in-process. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : text + '\n'),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : text + '\n'),
};

/** What every command action receives: where to print and how to set the exit code. */
export interface CommandEnv {
  io: Io;
  setExit(code: number): void;
}

export function buildProgram(env: CommandEnv): Command {
  const program = new Command('stagex-node')
    .description('Reproduce StageX packages, attest their digests, and decide trust at M of N signers')
    .option('-c, --config <file>', 'config file', process.env.STAGEX_NODE_CONFIG ?? 'config.json')
    .exitOverride()
    .configureOutput({ writeOut: (s) => env.io.out(s), writeErr: (s) => env.io.err(s) });
  for (const register of [registerInit, registerKeys, registerTrust, registerAttest, registerImport, registerQuery, registerVerify, registerExport, registerStart, registerPlan, registerBuild]) {
    register(program, env);
  }
  return program;
}

/** Runs the CLI and returns its exit code; never throws for bad input. */
export async function runCli(argv: readonly string[], io: Io = processIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram({ io, setExit: (c) => { code = Math.max(code, c); } });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (error instanceof StagexError) {
      io.err(`stagex-node: ${error.message}`);
      return error.code === 'USAGE' ? EXIT.usage : EXIT.error;
    }
    io.err(`stagex-node: unexpected error: ${(error as Error).stack ?? String(error)}`);
    return EXIT.error;
  }
}
