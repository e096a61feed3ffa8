/**
 * Reads the response of Docker's `POST /build?version=2` (NOTES "Engine"): JSON records, one a
 * line. `moby.buildkit.trace` records carry progress (decoded by buildkit-status.ts), the
 * `moby.image.id` record the image id; a failure comes only as a final `error`/`errorDetail`
 * record, with status 200. Progress is passed on as events; the last log lines are kept (capped)
 * to explain a failure.
 */
import { decodeStatus } from './buildkit-status.ts';
import { BuilderError, BuildFailedError } from './errors.ts';

/** What a build reports as it runs. */
export type BuildEvent =
  /** A step (BuildKit vertex) started, finished, was cached or failed. */
  | { kind: 'step'; id: string; name: string; cached: boolean; completed: boolean; error?: string }
  /** One line of a step's output. */
  | { kind: 'log'; step: string; stream: 'stdout' | 'stderr'; line: string }
  | { kind: 'warning'; step: string; message: string };

/** Lines of build output kept to explain a failure. */
export const LOG_TAIL_LINES = 40;
/** A kept line longer than this is cut; a build log is for people. */
export const LOG_LINE_MAX = 2000;
/** A response record longer than this fails the read (BuildKit batches logs far below it). */
export const RECORD_MAX = 8 * 1024 * 1024;

interface ProgressRecord {
  id?: unknown;
  aux?: unknown;
  error?: unknown;
  errorDetail?: { message?: unknown };
}

/**
 * Consumes the build response and returns the image id. Throws BuildFailedError (with the last
 * log lines) when the engine reports a failure, ENGINE_ERROR when the stream is malformed or ends
 * without an image id.
 */
export async function readBuildResponse(
  response: AsyncIterable<Uint8Array | string>,
  what: string,
  onEvent: (event: BuildEvent) => void = () => undefined,
): Promise<string> {
  const tail: string[] = [];
  const stepNames = new Map<string, string>();
  /** The state last reported per step: BuildKit repeats a vertex on every update. */
  const stepStates = new Map<string, string>();
  /** Output after the last newline, per step and stream. */
  const partial = new Map<string, { vertex: string; stream: 'stdout' | 'stderr'; rest: string }>();
  let imageId: string | undefined;

  const keep = (line: string): void => keepLine(tail, line);
  // Log messages split lines anywhere; a line is emitted once its newline arrives.
  const output = (vertex: string, stream: 'stdout' | 'stderr', chunk: string, flush: boolean): void => {
    const key = `${vertex} ${stream}`;
    const lines = ((partial.get(key)?.rest ?? '') + chunk).split('\n');
    partial.set(key, { vertex, stream, rest: flush ? '' : lines.pop()! });
    const step = stepNames.get(vertex) ?? vertex;
    for (const line of lines) {
      if (flush && line === '') continue;
      keep(line);
      onEvent({ kind: 'log', step, stream, line });
    }
  };

  await forEachRecord<ProgressRecord>(response, what, (parsed) => {
    if (parsed.error !== undefined || parsed.errorDetail !== undefined) {
      for (const { vertex, stream, rest } of [...partial.values()]) if (rest !== '') output(vertex, stream, '', true);
      const message = String(parsed.errorDetail?.message ?? parsed.error);
      throw new BuildFailedError(`build of ${what} failed: ${message}`, tail);
    }
    if (parsed.id === 'moby.image.id') {
      const id = (parsed.aux as { ID?: unknown } | undefined)?.ID;
      if (typeof id !== 'string') throw new BuilderError('ENGINE_ERROR', `build of ${what}: expected an image id in moby.image.id, got ${JSON.stringify(parsed.aux)}`);
      imageId = id;
    } else if (parsed.id === 'moby.buildkit.trace' && typeof parsed.aux === 'string') {
      const status = decodeStatus(Buffer.from(parsed.aux, 'base64'));
      for (const v of status.vertexes) {
        stepNames.set(v.digest, v.name);
        const state = `${v.cached} ${v.completed} ${v.error}`;
        if (stepStates.get(v.digest) === state) continue;
        stepStates.set(v.digest, state);
        onEvent({ kind: 'step', id: v.digest, name: v.name, cached: v.cached, completed: v.completed, ...(v.error === '' ? {} : { error: v.error }) });
      }
      for (const l of status.logs) output(l.vertex, l.stream === 2 ? 'stderr' : 'stdout', Buffer.from(l.msg).toString('utf8'), false);
      for (const w of status.warnings) onEvent({ kind: 'warning', step: stepNames.get(w.vertex) ?? w.vertex, message: w.short });
    }
  });
  if (imageId === undefined) throw new BuilderError('ENGINE_ERROR', `build of ${what}: the engine's response ended without an image id`);
  return imageId;
}

/** Keeps `line` (cut to LOG_LINE_MAX) among the last LOG_TAIL_LINES lines of `tail`. */
export function keepLine(tail: string[], line: string): void {
  tail.push(line.length > LOG_LINE_MAX ? `${line.slice(0, LOG_LINE_MAX)}...` : line);
  if (tail.length > LOG_TAIL_LINES) tail.shift();
}

/**
 * Calls `onRecord` with each record of an engine's progress stream: JSON, one a line (Docker's
 * and Podman's `POST /build` alike). ENGINE_ERROR for a line that is not JSON or one longer than
 * RECORD_MAX.
 */
export async function forEachRecord<T>(response: AsyncIterable<Uint8Array | string>, what: string, onRecord: (record: T) => void): Promise<void> {
  const record = (line: string): void => {
    let parsed: T;
    try {
      parsed = JSON.parse(line) as T;
    } catch (cause) {
      throw new BuilderError('ENGINE_ERROR', `build of ${what}: expected a JSON progress record, got ${JSON.stringify(line.slice(0, 80))}`, { cause });
    }
    onRecord(parsed);
  };
  // stream: true keeps a UTF-8 sequence split across chunks whole.
  const utf8 = new TextDecoder();
  let buffered = '';
  for await (const chunk of response) {
    buffered += typeof chunk === 'string' ? chunk : utf8.decode(chunk, { stream: true });
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    if (buffered.length > RECORD_MAX) throw new BuilderError('ENGINE_ERROR', `build of ${what}: a progress record exceeds ${RECORD_MAX} bytes`);
    for (const line of lines) if (line.trim() !== '') record(line);
  }
  if (buffered.trim() !== '') record(buffered);
}
