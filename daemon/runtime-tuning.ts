/**
 * The daemon's V8 settings that only hold from a process's start (issue 11), applied by
 * `stagex-node start` re-executing itself once: process.execve replaces the program in the same
 * process (same pid, same stdio), so a supervisor, the shell and systemd still see the one
 * process they started. Called by the command's entry point (daemon/bin/stagex-node.ts) before
 * it imports the daemon, so the modules load once; never by a test or tool that runs the CLI in
 * its own process. Each setting is skipped when it is already chosen (command line or
 * NODE_OPTIONS): who chose it keeps it; with all of them chosen there is no re-execution.
 *
 * V8's young generation is capped (`--max-semi-space-size=4`, MiB): by default each semi-space
 * grows to 16 MiB, and after the start-up scans of a million keys the heap stayed at ~104 MB for
 * ~45 MB of live objects; capped, at 44-52 MB (bench/memory.ts, process.memoryUsage).
 * `--expose-gc` gives the daemon V8's gc(): once sync traffic has gone quiet, a last-resort
 * collection hands back the pages a normal one keeps reserved (daemon/heap-release.ts).
 * (glibc's MALLOC_ARENA_MAX=2 was tried here too: it did not keep the native memory a served
 * sync leaves behind from growing, so it is not set.)
 */
const SETTINGS = [{ flag: '--max-semi-space-size', arg: '--max-semi-space-size=4' }, { flag: '--expose-gc', arg: '--expose-gc' }];

/** The daemon's settings this Node does not run with yet (none chosen by us or by whoever started it). */
export function missingSettings(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  // V8 reads `_` and `-` alike in a flag's name; `--no-expose-gc` chooses too.
  const named = (arg: string, flag: string) => {
    const name = arg.replaceAll('_', '-').split('=')[0];
    return name === flag || name === flag.replace(/^--/, '--no-');
  };
  return SETTINGS.filter(({ flag }) => !given.some((arg) => named(arg, flag))).map(({ arg }) => arg);
}

/** Re-executes this process with the daemon's settings it lacks; returns only when it does not re-execute. */
export function withDaemonRuntime(): void {
  const missing = missingSettings(process.execArgv, process.env.NODE_OPTIONS);
  if (missing.length === 0 || typeof process.execve !== 'function') return;
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...missing, ...process.argv.slice(1)], process.env);
}
