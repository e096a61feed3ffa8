/**
 * The daemon's V8 memory setting that only holds from a process's start (issue 11), applied by
 * `stagex-node start` re-executing itself once: process.execve replaces the program in the same
 * process (same pid, same stdio), so a supervisor, the shell and systemd still see the one
 * process they started. Called by the command's entry point (daemon/bin/stagex-node.ts) before
 * it imports the daemon, so the modules load once; never by a test or tool that runs the CLI in
 * its own process. Skipped when the semi-space size is already chosen (command line or
 * NODE_OPTIONS): who chose it keeps it.
 *
 * V8's young generation is capped (`--max-semi-space-size=4`, MiB): by default each semi-space
 * grows to 16 MiB, and after the start-up scans of a million keys the heap stayed at ~104 MB for
 * ~45 MB of live objects; capped, at 44-52 MB (bench/memory.ts, process.memoryUsage).
 * (glibc's MALLOC_ARENA_MAX=2 was tried here too: it did not keep the native memory a served
 * sync leaves behind from growing, so it is not set.)
 */
const FLAG = '--max-semi-space-size';
const VALUE = 4;

/** Whether this Node already runs with a semi-space size chosen (by us, or by whoever started it). */
function chosen(): boolean {
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((arg) => arg.startsWith(FLAG));
}

/** Re-executes this process with the daemon's setting, unless it has one; returns only when it does not re-execute. */
export function withDaemonRuntime(): void {
  if (chosen() || typeof process.execve !== 'function') return;
  process.execve(process.execPath, [process.execPath, ...process.execArgv, `${FLAG}=${VALUE}`, ...process.argv.slice(1)], process.env);
}
