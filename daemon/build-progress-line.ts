/**
 * The live progress line of `build` on a terminal: images n of N, the image building now and its
 * current step, elapsed time, and an estimate of what is left (the mean time of the images built
 * so far in this run, times those still to go; none before the first build finishes). Fed the
 * builder's log events; pure apart from the clock it is given.
 */
export interface ProgressState {
  total: number;
  done: number;
  failed: number;
  current?: { image: string; step?: string; since: number };
  started: number;
  /** Milliseconds each image that was really built (not reused) took. */
  durations: number[];
}

const FINISHED = new Set(['build.built', 'build.reused', 'build.failed', 'build.waiting', 'build.blocked']);

export function startProgress(total: number, now: number): ProgressState {
  return { total, done: 0, failed: 0, started: now, durations: [] };
}

/** Updates the state for one builder log event. */
export function onBuildEvent(state: ProgressState, event: string, fields: Record<string, unknown>, now: number): void {
  const image = typeof fields.image === 'string' ? fields.image : undefined;
  // The daemon's builder says what it will build once it has planned (`start` knows no total before).
  if (event === 'builder.plan' && Array.isArray(fields.steps)) state.total = state.done + fields.steps.length;
  else if (event === 'build.started' && image) state.current = { image, since: now };
  else if ((event === 'build.step' || event === 'build.step_started') && state.current && image === state.current.image && typeof fields.step === 'string') state.current.step = fields.step;
  else if (FINISHED.has(event)) {
    state.done += 1;
    if (event === 'build.failed' || event === 'build.blocked') state.failed += 1;
    if (event === 'build.built' && state.current && image === state.current.image) state.durations.push(now - state.current.since);
    if (state.current && image === state.current.image) delete state.current;
  }
}

export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `[3/7] core-gcc > RUN make (2m13s) | 5m40s elapsed, ~8m left | 1 failed`, cut to `width`. */
export function progressLine(state: ProgressState, now: number, width = 120): string {
  const parts = [`[${Math.min(state.done + (state.current ? 1 : 0), state.total)}/${state.total}]`];
  if (state.current) parts.push(`${state.current.image}${state.current.step ? ` > ${state.current.step}` : ''} (${duration(now - state.current.since)})`);
  else parts.push(state.done === state.total ? 'done' : 'preparing');
  let timing = `| ${duration(now - state.started)} elapsed`;
  if (state.durations.length > 0 && state.done < state.total) {
    const mean = state.durations.reduce((a, b) => a + b, 0) / state.durations.length;
    const left = (state.total - state.done) * mean - (state.current ? now - state.current.since : 0);
    timing += `, ~${duration(Math.max(left, 0))} left`;
  }
  parts.push(timing);
  if (state.failed > 0) parts.push(`| ${state.failed} failed`);
  const line = parts.join(' ');
  return line.length > width ? line.slice(0, Math.max(width - 1, 0)) + '…' : line;
}
