/**
 * Reading build responses: decoding BuildKit status records and following the JSON-lines stream.
 * Vectors are responses of Docker 26.1.5 (`POST /build?version=2&networkmode=none`), captured:
 *   buildkit-heredoc.jsonl: FROM stagex-local/busybox AS build / COPY <<-EOT /x (hello heredoc) /
 *     RUN --network=none cat /x > /y && echo built-ok && ls /sys/class/net / FROM scratch AS
 *     package / COPY --from=build /y /y
 *   buildkit-failed-run.jsonl: FROM stagex-local/busybox / RUN --network=none echo about-to-fail
 *     && exit 3
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type BuildEvent, LOG_TAIL_LINES, readBuildResponse } from '../../daemon/builder/build-progress.ts';
import { decodeStatus } from '../../daemon/builder/buildkit-status.ts';
import { BuilderError, BuildFailedError } from '../../daemon/builder/errors.ts';
import { rejection } from '../helpers/rejection.ts';

const heredoc = readFileSync(new URL('../vectors/buildkit-heredoc.jsonl', import.meta.url), 'utf8');
const failedRun = readFileSync(new URL('../vectors/buildkit-failed-run.jsonl', import.meta.url), 'utf8');
const RUN_STEP = '[build 3/3] RUN --network=none cat /x > /y && echo built-ok && ls /sys/class/net';

/** The base64 aux of the trace records of a captured response. */
function traces(response: string): string[] {
  return response
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { id?: string; aux?: unknown })
    .flatMap((record) => (record.id === 'moby.buildkit.trace' && typeof record.aux === 'string' ? [record.aux] : []));
}

async function* chunks(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function read(text: string, size = 1 << 20) {
  const events: BuildEvent[] = [];
  const id = await readBuildResponse(chunks(text, size), 'test:1', (e) => events.push(e));
  return { id, events };
}

describe('decodeStatus', () => {
  const auxes = traces(heredoc).map((aux) => decodeStatus(Buffer.from(aux, 'base64')));

  it('decodes step names, digests and times', () => {
    const run = auxes.flatMap((s) => s.vertexes).filter((v) => v.name === RUN_STEP);
    assert.ok(run.length >= 2);
    assert.ok(run.every((v) => /^sha256:[0-9a-f]{64}$/.test(v.digest) && v.digest === run[0]!.digest));
    assert.ok(run.some((v) => v.started && !v.completed));
    assert.ok(run.some((v) => v.started && v.completed && v.error === '' && !v.cached));
  });

  it('decodes the output of RUN with its stream', () => {
    const logs = auxes.flatMap((s) => s.logs);
    assert.deepEqual(logs.map((l) => [l.stream, Buffer.from(l.msg).toString('utf8')]), [[1, 'built-ok\n'], [1, 'lo\n']]);
  });

  it("decodes a failed step's error", () => {
    const errors = traces(failedRun).flatMap((aux) => decodeStatus(Buffer.from(aux, 'base64')).vertexes.map((v) => v.error)).filter((e) => e !== '');
    assert.deepEqual(errors, ['process "/bin/sh -c echo about-to-fail && exit 3" did not complete successfully: exit code: 3']);
  });

  it('skips fields it does not know, of every wire type', () => {
    // field 9 varint 1, field 10 fixed64, field 11 fixed32, then a vertex {digest "d", name "n"}.
    const bytes = Uint8Array.from([0x48, 1, 0x51, 1, 2, 3, 4, 5, 6, 7, 8, 0x5d, 1, 2, 3, 4, 0x0a, 6, 0x0a, 1, 0x64, 0x1a, 1, 0x6e]);
    assert.deepEqual(decodeStatus(bytes).vertexes, [{ digest: 'd', name: 'n', cached: false, started: false, completed: false, error: '' }]);
  });

  it('when the record is truncated, throws ENGINE_ERROR', () => {
    const whole = Buffer.from(traces(heredoc)[0]!, 'base64');
    assert.throws(() => decodeStatus(whole.subarray(0, whole.length - 3)), (e: unknown) => e instanceof BuilderError && e.code === 'ENGINE_ERROR');
  });

  it('when a wire type is not protobuf, throws ENGINE_ERROR', () => {
    assert.throws(() => decodeStatus(Uint8Array.from([0x0b])), (e: unknown) => e instanceof BuilderError && e.code === 'ENGINE_ERROR');
  });
});

describe('readBuildResponse', () => {
  it('returns the image id and reports steps once per change, and output lines', async () => {
    const { id, events } = await read(heredoc);
    assert.equal(id, 'sha256:8b920a8c4ccd70c32658379e07784a0b713a043c0d62dd6dbc44c89bb73806e2');
    const logs = events.filter((e) => e.kind === 'log');
    assert.deepEqual(logs, [
      { kind: 'log', step: RUN_STEP, stream: 'stdout', line: 'built-ok' },
      { kind: 'log', step: RUN_STEP, stream: 'stdout', line: 'lo' },
    ]);
    const runSteps = events.filter((e) => e.kind === 'step' && e.name === RUN_STEP);
    assert.deepEqual(runSteps.map((e) => e.kind === 'step' && e.completed), [false, true]);
  });

  it('when records are split across chunks, reads the same', async () => {
    assert.deepEqual(await read(heredoc, 7), await read(heredoc));
  });

  it('when the engine reports a failure, throws BuildFailedError with the last output', async () => {
    const error = await rejection(read(failedRun));
    assert.ok(error instanceof BuildFailedError);
    assert.equal(error.code, 'BUILD_FAILED');
    assert.deepEqual(error.log, ['about-to-fail']);
  });

  it('keeps only the last LOG_TAIL_LINES lines, and a line without newline', async () => {
    const lines = Array.from({ length: LOG_TAIL_LINES + 5 }, (_, i) => `line ${i}`);
    const aux = logRecord('v', `${lines.join('\n')}\nno newline`);
    const response = `{"id":"moby.buildkit.trace","aux":"${aux}"}\n{"errorDetail":{"message":"boom"},"error":"boom"}\n`;
    const error = await rejection(read(response));
    assert.ok(error instanceof BuildFailedError);
    assert.equal(error.log.length, LOG_TAIL_LINES);
    assert.equal(error.log.at(-1), 'no newline');
    assert.equal(error.log.at(-2), `line ${LOG_TAIL_LINES + 4}`);
  });

  it('when the response ends without an image id, throws ENGINE_ERROR', async () => {
    const cut = heredoc.split('\n').filter((l) => !l.includes('moby.image.id')).join('\n');
    assert.equal((await rejection(read(cut))).code, 'ENGINE_ERROR');
  });

  it('when a record is not JSON, throws ENGINE_ERROR', async () => {
    assert.equal((await rejection(read('{"id":"x"}\nnot json\n'))).code, 'ENGINE_ERROR');
  });
});

/** A StatusResponse with one VertexLog {vertex, stream 1, msg}, base64, as BuildKit sends it. */
function logRecord(vertex: string, msg: string): string {
  const bytes = (field: number, value: Buffer): Buffer => Buffer.concat([Buffer.from([(field << 3) | 2]), varint(value.length), value]);
  const log = Buffer.concat([bytes(1, Buffer.from(vertex)), Buffer.from([3 << 3, 1]), bytes(4, Buffer.from(msg))]);
  return bytes(3, log).toString('base64');
}

function varint(n: number): Buffer {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return Buffer.from(out);
}
