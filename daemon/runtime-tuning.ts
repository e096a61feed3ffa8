/**
 * The daemon's memory settings that only hold from a process's start (issue 11), applied by
 * `stagex-node start` re-executing itself once: process.execve replaces the program in the same
 * process (same pid, same stdio), so a supervisor, the shell and systemd still see the one
 * process they started. Called by the command's entry point (daemon/bin/stagex-node.ts) before
 * it imports the daemon, so the modules load once; never by a test or tool that runs the CLI in
 * its own process. Each setting is skipped when it is already chosen (command line, NODE_OPTIONS,
 * the environment): who chose it keeps it; with all of them chosen there is no re-execution.
 *
 * V8's young generation is capped (`--max-semi-space-size=4`, MiB): by default each semi-space
 * grows to 16 MiB, and after the start-up scans of a million keys the heap stayed at ~104 MB for
 * ~45 MB of live objects; capped, at 44-52 MB (bench/memory.ts, process.memoryUsage).
 * `--expose-gc` gives the daemon V8's gc(): once sync traffic has gone quiet, a last-resort
 * collection hands back the pages a normal one keeps reserved (daemon/heap-release.ts).
 * glibc's malloc serves blocks from 32 KiB up by mmap, returned to the system when freed
 * (GLIBC_TUNABLES glibc.malloc.mmap_threshold; other C libraries ignore it): by default the
 * threshold rises to the size of each mmapped block freed, so after the first 1 MiB sync frame
 * (protocol/sync.ts MAX_FRAME_BYTES) frames and noise's 64 KiB ciphertexts came from the main
 * heap, which only shrinks from its top. With a million envelopes, after serving 200,000 the
 * daemon's resident set was 217-233 MB without the threshold, 191-212 MB with it (bench/memory.ts
 * --sync-envelopes 200000: [heap] in smaps 48 to 91-103 MB; with it 12-14 to 40-59 MB, and 11 MB
 * less idle), for ~1.5 ms more CPU per 1000 envelopes served (37-39 ms; mmap's page faults,
 * ~0.5 ms per MB). What stays in [heap] is freed blocks under 4 KiB (a threshold of 4 KiB
 * changed nothing) that glibc's malloc_trim would give back (~48 MB), which Node cannot call.
 * (MALLOC_ARENA_MAX=2 was tried too: it did not keep that memory from growing, so it is not set.)
 */
const FLAGS = [{ flag: '--max-semi-space-size', arg: '--max-semi-space-size=4' }, { flag: '--expose-gc', arg: '--expose-gc' }];
const TUNABLE = 'glibc.malloc.mmap_threshold';
const MMAP_THRESHOLD = 32 * 1024;

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

/** GLIBC_TUNABLES with the daemon's mmap threshold added, unless a threshold is chosen already (there or by MALLOC_MMAP_THRESHOLD_). */
export function missingTunable(env: NodeJS.ProcessEnv): string | undefined {
  const tunables = env.GLIBC_TUNABLES ?? '';
  if (env.MALLOC_MMAP_THRESHOLD_ !== undefined || tunables.split(':').some((t) => t.startsWith(`${TUNABLE}=`))) return undefined;
  return [tunables, `${TUNABLE}=${MMAP_THRESHOLD}`].filter(Boolean).join(':');
}

/** Re-executes this process with the daemon's settings it lacks; returns only when it does not re-execute. */
export function withDaemonRuntime(): void {
  const flags = missingSettings(process.execArgv, process.env.NODE_OPTIONS);
  const tunables = missingTunable(process.env);
  if ((flags.length === 0 && tunables === undefined) || typeof process.execve !== 'function') return;
  const env = tunables === undefined ? process.env : { ...process.env, GLIBC_TUNABLES: tunables };
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...flags, ...process.argv.slice(1)], env);
}
