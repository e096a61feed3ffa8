/**
 * The daemon's memory settings that only hold from a process's start (issue 11), applied by
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
 * glibc's malloc is left as it is: serving blocks of 32 KiB and more by mmap
 * (GLIBC_TUNABLES=glibc.malloc.mmap_threshold=32768) gave ~20 MB back after a served sync but
 * cost a catching-up daemon 14 % more CPU (bench/catchup.ts 100000, quiet, 4 alternated pairs:
 * 208-216 against 179-194 us an envelope; 12.6-12.9 against 10.7-11.8 s): mmap, page faults
 * and munmap for every noise block, frame and worker batch.
 */
const FLAGS = [{ flag: '--max-semi-space-size', arg: '--max-semi-space-size=4' }, { flag: '--expose-gc', arg: '--expose-gc' }];

/** The daemon's V8 flags this Node does not run with yet (none chosen by us or by whoever started it). */
export function missingSettings(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  // V8 reads `_` and `-` alike in a flag's name; `--no-expose-gc` chooses too.
  const named = (arg: string, flag: string) => {
    const name = arg.replaceAll('_', '-').split('=')[0];
    return name === flag || name === flag.replace(/^--/, '--no-');
  };
  return FLAGS.filter(({ flag }) => !given.some((arg) => named(arg, flag))).map(({ arg }) => arg);
}

/** Re-executes this process with the daemon's settings it lacks; returns only when it does not re-execute. */
export function withDaemonRuntime(): void {
  const flags = missingSettings(process.execArgv, process.env.NODE_OPTIONS);
  if (flags.length === 0 || typeof process.execve !== 'function') return;
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...flags, ...process.argv.slice(1)], process.env);
}
