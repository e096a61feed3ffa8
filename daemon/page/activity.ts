/**
 * What the status page shows of a daemon's life that is in no store: this run's builds (queued,
 * running with their current step, finished) and its recent events. It is fed by tapping the
 * daemon's log (every event, whatever the log level written), so the builder and the network
 * report once, to the log, and the page follows. Bounded: RECENT_EVENTS events, one entry per
 * planned build step, MAX_LISTENERS live streams.
 */
import { levelOf, type Level, type Log } from '../log.ts';

export const RECENT_EVENTS = 200;
export const MAX_LISTENERS = 16;

export type BuildState = 'queued' | 'running' | 'built' | 'reused' | 'failed' | 'blocked' | 'waiting';

export interface BuildEntry {
  image: string;
  platform: string;
  inputDigest?: string;
  state: BuildState;
  /** The step running now (or the last one), as the engine names it. */
  step?: string;
  /** ms since the epoch. */
  startedAt?: number;
  finishedAt?: number;
  digest?: string;
  reason?: string;
}

export interface ActivityEvent {
  time: number;
  level: Level;
  event: string;
  fields: Record<string, unknown>;
}

/** Events too frequent for the recent list and the live stream (one per build output line). */
const QUIET = new Set(['build.output', 'build.step_started', 'build.step', 'envelope.stored']);
const FINISHED = new Set<BuildState>(['built', 'reused', 'failed', 'blocked', 'waiting']);

export class Activity {
  readonly #now: () => number;
  readonly #recent: ActivityEvent[] = [];
  readonly #builds = new Map<string, BuildEntry>();
  readonly #listeners = new Set<(event: ActivityEvent) => void>();

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** A log that records into this activity, then writes through `log`. */
  tap(log: Log): Log {
    return (event, fields = {}, level) => {
      this.record(event, fields, level ?? levelOf(event));
      log(event, fields, level);
    };
  }

  record(event: string, fields: Record<string, unknown>, level: Level = levelOf(event)): void {
    const time = this.#now();
    this.#follow(event, fields, time);
    if (QUIET.has(event) || level === 'debug') return;
    const entry = { time, level, event, fields };
    this.#recent.push(entry);
    if (this.#recent.length > RECENT_EVENTS) this.#recent.shift();
    this.#emit(entry);
  }

  /** Tells live streams that `event` happened without listing it (a store write: verdicts may have changed). */
  notify(event: string, fields: Record<string, unknown>): void {
    this.#emit({ time: this.#now(), level: 'debug', event, fields });
  }

  recent(): ActivityEvent[] {
    return [...this.#recent];
  }

  builds(): BuildEntry[] {
    return [...this.#builds.values()].map((b) => ({ ...b }));
  }

  /** Whether a build of `inputDigest` runs now. */
  running(inputDigest: string): boolean {
    for (const build of this.#builds.values()) if (build.inputDigest === inputDigest && build.state === 'running') return true;
    return false;
  }

  /** Calls `listener` with each listed event until the returned function is called; undefined when MAX_LISTENERS listen already. */
  listen(listener: (event: ActivityEvent) => void): (() => void) | undefined {
    if (this.#listeners.size >= MAX_LISTENERS) return undefined;
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: ActivityEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  /** The build board, from the builder's and scheduler's events. */
  #follow(event: string, fields: Record<string, unknown>, time: number): void {
    if (event === 'builder.plan' && Array.isArray(fields.steps)) {
      this.#builds.clear();
      for (const step of fields.steps as { image: string; platform: string; inputDigest: string }[]) {
        this.#builds.set(keyOf(step), { image: step.image, platform: step.platform, inputDigest: step.inputDigest, state: 'queued' });
      }
      return;
    }
    if (!event.startsWith('build.') || typeof fields.image !== 'string' || typeof fields.platform !== 'string') return;
    const key = keyOf(fields as { image: string; platform: string });
    const entry = this.#builds.get(key) ?? { image: fields.image, platform: fields.platform, state: 'queued' as BuildState };
    this.#builds.set(key, entry);
    if (typeof fields.inputDigest === 'string') entry.inputDigest = fields.inputDigest;
    const state = event.slice('build.'.length);
    if (state === 'started') {
      Object.assign(entry, { state: 'running', startedAt: time });
      delete entry.finishedAt;
      delete entry.step;
    } else if ((state === 'step_started' || state === 'output') && typeof fields.step === 'string') {
      if (state !== 'output' || entry.step === undefined) entry.step = fields.step;
    } else if (FINISHED.has(state as BuildState)) {
      entry.state = state as BuildState;
      entry.finishedAt = time;
      if (typeof fields.digest === 'string') entry.digest = fields.digest;
      if (typeof fields.reason === 'string') entry.reason = fields.reason;
    }
  }
}

function keyOf(step: { image: string; platform: string }): string {
  return `${step.image} ${step.platform}`;
}
