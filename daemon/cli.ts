/**
 * The `stagex-node` command line (DESIGN section 8). Each command lives in daemon/commands/;
 * this file wires them, the shared options, error reporting and exit codes:
 * 0 ok (verify: trusted), 1 (verify: pending or unknown; import: some files failed; build:
 * something waits for quorum or for an offline signature),
 * 2 (verify: conflict), 3 an error (bad config, bad input, I/O), 64 bad usage.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { StagexError } from '../protocol/errors.ts';
import { EXIT, processIo, type CommandEnv, type Io } from './commands/env.ts';

export { EXIT, processIo, type CommandEnv, type Io };

type Register = (program: Command, env: CommandEnv) => void;

/**
 * Each command's module, loaded only when that command runs: the daemon's libp2p stack costs
 * about half a second to load, which `plan` or `build` never use. Help loads them all.
 */
const COMMANDS: Readonly<Record<string, () => Promise<Register>>> = {
  init: async () => (await import('./commands/init.ts')).registerInit,
  keys: async () => (await import('./commands/keys.ts')).registerKeys,
  trust: async () => (await import('./commands/trust.ts')).registerTrust,
  attest: async () => (await import('./commands/attest.ts')).registerAttest,
  import: async () => (await import('./commands/import.ts')).registerImport,
  signatures: async () => (await import('./commands/signatures.ts')).registerSignatures,
  query: async () => (await import('./commands/query.ts')).registerQuery,
  verify: async () => (await import('./commands/verify.ts')).registerVerify,
  export: async () => (await import('./commands/export.ts')).registerExport,
  start: async () => (await import('./commands/start.ts')).registerStart,
  plan: async () => (await import('./commands/plan.ts')).registerPlan,
  build: async () => (await import('./commands/build.ts')).registerBuild,
  statements: async () => (await import('./commands/statements.ts')).registerStatements,
  sources: async () => (await import('./commands/sources.ts')).registerSources,
  open: async () => (await import('./commands/open.ts')).registerOpen,
  doctor: async () => (await import('./commands/doctor.ts')).registerDoctor,
  store: async () => (await import('./commands/store.ts')).registerStore,
};
/** Commands registered by another command's module. */
const REGISTERED_BY: Readonly<Record<string, string>> = { status: 'start', peers: 'start', reload: 'start' };

/** The command word of `argv`: its first argument that is neither an option nor the value of -c. */
export function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '-c' || arg === '--config') i += 1;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/** This package's version, from its package.json (installed beside daemon/). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export async function buildProgram(env: CommandEnv, argv: readonly string[] = []): Promise<Command> {
  const program = new Command('stagex-node')
    .description('Reproduce StageX packages, attest their digests, and decide trust at M of N signers')
    .option('-c, --config <file>', 'config file', process.env.STAGEX_NODE_CONFIG ?? 'config.json')
    .exitOverride()
    .configureOutput({ writeOut: (s) => env.io.out(s), writeErr: (s) => env.io.err(s) });
  const word = commandWord(argv);
  // Only without a command: commander would otherwise take `attest --version <v>` as this option.
  if (word === undefined) program.version(packageVersion(), '-V, --version', 'print the version');
  const name = word === undefined ? undefined : (REGISTERED_BY[word] ?? word);
  const load = name !== undefined && Object.hasOwn(COMMANDS, name) ? [COMMANDS[name]!] : Object.values(COMMANDS);
  for (const register of await Promise.all(load.map((l) => l()))) register(program, env);
  return program;
}

/** Runs the CLI and returns its exit code; never throws for bad input. */
export async function runCli(argv: readonly string[], io: Io = processIo): Promise<number> {
  let code: number = EXIT.ok;
  try {
    const program = await buildProgram({ io, setExit: (c) => { code = Math.max(code, c); } }, argv);
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
