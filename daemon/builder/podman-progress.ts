/**
 * Build progress from Podman's Docker-compatible API (Buildah behind it): the same events and
 * errors as build-progress.ts gives for BuildKit, read from Buildah's plain-text step lines.
 */
import { type BuildEvent, forEachRecord, keepLine, RECORD_MAX } from './build-progress.ts';
import { BuilderError, BuildFailedError } from './errors.ts';

interface PodmanRecord {
  stream?: unknown;
  aux?: { ID?: unknown };
  error?: unknown;
  errorDetail?: { message?: unknown };
}

/**
 * Reads the response of Podman's compat `POST /build` (Buildah): JSON records, one a line, whose
 * `stream` text holds Buildah's `[stage] STEP n/m: ...`, `COMMIT` and `--> <id>` lines between the
 * steps' output (stdout and stderr merged); the image id comes in `aux.ID`, a failure only as a
 * final `error`/`errorDetail` record, with status 200. Gives the events and errors of
 * readBuildResponse.
 */
export async function readPodmanResponse(response: AsyncIterable<Uint8Array | string>, what: string, onEvent: (event: BuildEvent) => void = () => undefined): Promise<string> {
  const tail: string[] = [];
  let step: { id: string; name: string } | undefined;
  /** Stream text after the last newline: records split lines anywhere. */
  let rest = '';
  let imageId: string | undefined;

  const completed = (cached: boolean): void => {
    if (step !== undefined) onEvent({ kind: 'step', ...step, cached, completed: true });
    step = undefined;
  };
  const line = (text: string): void => {
    const started = /^(?:\[(\d+\/\d+)\] )?STEP (\d+\/\d+): /.exec(text);
    const done = /^--> (Using cache )?[0-9a-f]{12,64}$/.exec(text);
    const warning = /^\[Warning\] (.*)$/.exec(text);
    if (started !== null) {
      // A step without its own "-->" line (FROM) is done when the next one starts.
      completed(false);
      step = { id: `${started[1] ?? '1/1'} ${started[2]}`, name: text };
      onEvent({ kind: 'step', ...step, cached: false, completed: false });
    } else if (done !== null) {
      completed(done[1] !== undefined);
    } else if (warning !== null) {
      onEvent({ kind: 'warning', step: step?.name ?? '', message: warning[1]! });
    } else if (!/^(?:\[\d+\/\d+\] )?COMMIT( |$)|^Successfully (?:built|tagged) |^[0-9a-f]{64}$/.test(text)) {
      keepLine(tail, text);
      onEvent({ kind: 'log', step: step?.name ?? '', stream: 'stdout', line: text });
    }
  };

  await forEachRecord<PodmanRecord>(response, what, (parsed) => {
    if (typeof parsed.stream === 'string') {
      const lines = (rest + parsed.stream).split('\n');
      rest = lines.pop()!;
      // Output that never ends its line is cut rather than held whole.
      if (rest.length > RECORD_MAX) {
        lines.push(rest);
        rest = '';
      }
      for (const l of lines) line(l);
    }
    if (parsed.error !== undefined || parsed.errorDetail !== undefined) {
      if (rest !== '') line(rest);
      throw new BuildFailedError(`build of ${what} failed: ${String(parsed.errorDetail?.message ?? parsed.error).trim()}`, tail);
    }
    if (parsed.aux?.ID !== undefined) {
      if (typeof parsed.aux.ID !== 'string') throw new BuilderError('ENGINE_ERROR', `build of ${what}: expected an image id in aux.ID, got ${JSON.stringify(parsed.aux.ID)}`);
      imageId = parsed.aux.ID;
    }
  });

  if (imageId === undefined) throw new BuilderError('ENGINE_ERROR', `build of ${what}: the engine's response ended without an image id`);
  return imageId;
}
