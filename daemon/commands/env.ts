/** What every command shares with the command line: exit codes, output sinks, the action's environment. */

/** 0 ok (verify: trusted), 1 pending or unknown, 2 conflict, 3 an error, 64 bad usage. */
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
