/**
 * Build progress on a terminal, for `build` and `start`: the builder's log events also feed a
 * live status line (daemon/build-progress-line.ts), redrawn every second and at each event below
 * whatever else is printed. Step events go only to the line; the rest still print, one line each.
 * Without a terminal (no `io.status`) the log is returned unchanged.
 */
import type { Io } from './commands/env.ts';
import type { Log } from './log.ts';
import { onBuildEvent, progressLine, startProgress } from './build-progress-line.ts';

export function withProgress(io: Io, log: Log, total = 0): Log {
  const status = io.status?.bind(io);
  if (!status) return log;
  const state = startProgress(total, Date.now());
  const draw = () => {
    if (state.total === 0) return;
    if (state.done >= state.total) {
      status('');
      return;
    }
    status(progressLine(state, Date.now()));
  };
  setInterval(draw, 1000).unref();
  return (event, fields = {}, level) => {
    onBuildEvent(state, event, fields, Date.now());
    if (event !== 'build.step' && event !== 'build.step_started') log(event, fields, level);
    draw();
  };
}
