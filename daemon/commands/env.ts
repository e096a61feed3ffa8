/** What every command shares with the command line: exit codes, output sinks, the action's environment. */

/** 0 ok (verify: trusted), 1 pending or unknown, 2 conflict, 3 an error, 64 bad usage. */
export const EXIT = { ok: 0, pending: 1, conflict: 2, error: 3, usage: 64 } as const;

/** Output sinks, injectable so tests can run the CLI in-process. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** A live status line, redrawn in place at the bottom of a terminal; absent when stderr is not one. */
  status?(line: string): void;
}

const line = (text: string) => (text.endsWith('\n') ? text : text + '\n');
/** The status line on screen, redrawn below whatever else is printed to stderr. */
let shown = '';
const CLEAR = '\r\x1b[2K';

export const processIo: Io = {
  out: (text) => process.stdout.write(line(text)),
  err: (text) => process.stderr.write(shown ? `${CLEAR}${line(text)}${shown}` : line(text)),
  ...(process.stderr.isTTY ? {
    status: (text: string) => {
      shown = text.slice(0, Math.max((process.stderr.columns || 80) - 1, 1));
      process.stderr.write(`${CLEAR}${shown}`);
    },
  } : {}),
};

/** What every command action receives: where to print and how to set the exit code. */
export interface CommandEnv {
  io: Io;
  setExit(code: number): void;
}
