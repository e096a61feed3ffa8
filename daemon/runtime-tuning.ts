/**
 * The daemon's memory settings that only hold from a process's start (issue 11), applied by
 * `stagex-node start` re-executing itself once: process.execve replaces the program in the same
 * process (same pid, same stdio), so a supervisor, the shell and systemd still see the one
 * process they started. Called by the command's entry point (daemon/bin/stagex-node.ts) before
 * it imports the daemon, so the modules load once; never by a test or tool that runs the CLI in
 * its own process. Skipped when the semi-space size is already chosen (command line or
 * NODE_OPTIONS): who chose it keeps it.
 *
 * - V8's young generation capped (`--max-semi-space-size=4`, MiB): by default each semi-space
 *   grows to 16 MiB, and after the start-up scans of a million keys the heap stayed at ~104 MB
 *   for ~45 MB of live objects; capped, at 44-52 MB (bench/memory.ts, process.memoryUsage).
 * - glibc's malloc arenas held to 2 (MALLOC_ARENA_MAX, unless set): LevelDB reads run on libuv's
 *   worker threads, each of which otherwise gets an arena of its own that keeps what it freed.
 *   At a million envelopes, after 120 s of serving a sync, anonymous RSS stayed 120 MB above
 *   idle with default arenas and returned to idle with 2 (one run each: suggestive, not proven).
 */
const FLAG = '--max-semi-space-size';
const VALUE = 4;
const ARENAS = '2';

/** Whether this Node already runs with a semi-space size chosen (by us, or by whoever started it). */
function chosen(): boolean {
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((arg) => arg.startsWith(FLAG));
}

/** Re-executes this process with the daemon's settings, unless it has them; returns only when it does not re-execute. */
export function withDaemonRuntime(): void {
  if (chosen() || typeof process.execve !== 'function') return;
  const env = { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? ARENAS };
  process.execve(process.execPath, [process.execPath, ...process.execArgv, `${FLAG}=${VALUE}`, ...process.argv.slice(1)], env);
}
