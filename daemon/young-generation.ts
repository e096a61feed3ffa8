/**
 * The daemon's V8 young generation, capped (issue 11). By default V8 lets each of its two
 * semi-spaces grow to 16 MiB, and after the start-up scans of a large store (a million keys
 * read as strings) the heap keeps them: at a million envelopes the heap stayed at ~104 MB for
 * ~45 MB of live objects. Semi-spaces of 4 MiB kept it at ~44 MB (bench/memory.ts).
 * The size is fixed when V8 starts, so `stagex-node start` re-executes itself once with the
 * flag: process.execve replaces the program in the same process (same pid, same stdio), so a
 * supervisor, the shell and systemd still see the one process they started. Called by the
 * command's entry point (daemon/bin/stagex-node.ts) before it imports the daemon, so the modules
 * load once; never by a test or tool that runs the CLI in its own process.
 */
const FLAG = '--max-semi-space-size';
const VALUE = 4;

/** Whether this Node already runs with a semi-space size chosen (by us, or by whoever started it). */
function chosen(): boolean {
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((arg) => arg.startsWith(FLAG));
}

/** Re-executes this process with the capped young generation, unless it has one; returns only when it does not re-execute. */
export function withCappedYoungGeneration(): void {
  if (chosen() || typeof process.execve !== 'function') return;
  process.execve(process.execPath, [process.execPath, ...process.execArgv, `${FLAG}=${VALUE}`, ...process.argv.slice(1)], process.env);
}
