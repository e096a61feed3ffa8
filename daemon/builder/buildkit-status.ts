/**
 * BuildKit's progress records (NOTES "Engine"): Docker's `POST /build?version=2` streams
 * `{"id":"moby.buildkit.trace","aux":"<base64>"}` lines whose aux is a protobuf
 * `moby.buildkit.v1.StatusResponse`. This decodes the parts a build log needs (steps, their
 * output, warnings) with a minimal protobuf wire reader; unknown fields are skipped, as protobuf
 * readers must.
 *
 * Schema (github.com/moby/buildkit api/services/control/control.proto):
 *   StatusResponse { repeated Vertex vertexes = 1; repeated VertexStatus statuses = 2;
 *                    repeated VertexLog logs = 3; repeated VertexWarning warnings = 4; }
 *   Vertex { string digest = 1; string name = 3; bool cached = 4; Timestamp started = 5;
 *            Timestamp completed = 6; string error = 7; }
 *   VertexLog { string vertex = 1; int64 stream = 3; bytes msg = 4; }
 *   VertexWarning { string vertex = 1; bytes short = 3; }
 */
import { BuilderError } from './errors.ts';

/** A build step: `started`/`completed` say whether BuildKit has stamped those times yet. */
export interface StatusVertex {
  digest: string;
  name: string;
  cached: boolean;
  started: boolean;
  completed: boolean;
  /** BuildKit's error for this step, empty when none. */
  error: string;
}

/** Output of a step's process: `stream` 1 is stdout, 2 stderr. */
export interface StatusLog {
  vertex: string;
  stream: number;
  msg: Uint8Array;
}

export interface StatusWarning {
  vertex: string;
  short: string;
}

export interface BuildStatus {
  vertexes: StatusVertex[];
  logs: StatusLog[];
  warnings: StatusWarning[];
}

const VARINT = 0;
const FIXED64 = 1;
const BYTES = 2;
const FIXED32 = 5;

interface Field {
  number: number;
  /** The varint's value (exact below 2^53), or the bytes of a length-delimited field. */
  value: number | Uint8Array;
}

const text = new TextDecoder();

/** Decodes one StatusResponse; throws ENGINE_ERROR when the bytes are not valid protobuf. */
export function decodeStatus(bytes: Uint8Array): BuildStatus {
  const status: BuildStatus = { vertexes: [], logs: [], warnings: [] };
  for (const field of fields(bytes)) {
    if (!(field.value instanceof Uint8Array)) continue;
    if (field.number === 1) status.vertexes.push(vertex(field.value));
    else if (field.number === 3) status.logs.push(log(field.value));
    else if (field.number === 4) status.warnings.push(warning(field.value));
  }
  return status;
}

function vertex(bytes: Uint8Array): StatusVertex {
  const v: StatusVertex = { digest: '', name: '', cached: false, started: false, completed: false, error: '' };
  for (const { number, value } of fields(bytes)) {
    if (number === 1) v.digest = str(value);
    else if (number === 3) v.name = str(value);
    else if (number === 4) v.cached = value !== 0;
    else if (number === 5) v.started = true;
    else if (number === 6) v.completed = true;
    else if (number === 7) v.error = str(value);
  }
  return v;
}

function log(bytes: Uint8Array): StatusLog {
  const l: StatusLog = { vertex: '', stream: 0, msg: new Uint8Array() };
  for (const { number, value } of fields(bytes)) {
    if (number === 1) l.vertex = str(value);
    else if (number === 3 && typeof value === 'number') l.stream = value;
    else if (number === 4 && value instanceof Uint8Array) l.msg = value;
  }
  return l;
}

function warning(bytes: Uint8Array): StatusWarning {
  const w: StatusWarning = { vertex: '', short: '' };
  for (const { number, value } of fields(bytes)) {
    if (number === 1) w.vertex = str(value);
    else if (number === 3) w.short = str(value);
  }
  return w;
}

function str(value: number | Uint8Array): string {
  return value instanceof Uint8Array ? text.decode(value) : '';
}

function* fields(bytes: Uint8Array): Generator<Field> {
  let at = 0;
  const varint = (): number => {
    let result = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (at >= bytes.length) throw bad('truncated varint', at);
      const byte = bytes[at++]!;
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
    }
    throw bad('varint longer than 10 bytes', at);
  };
  const skip = (n: number): void => {
    if (at + n > bytes.length) throw bad(`field of ${n} bytes past the end (${bytes.length})`, at);
    at += n;
  };
  while (at < bytes.length) {
    const key = varint();
    const number = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === VARINT) yield { number, value: varint() };
    else if (wire === BYTES) {
      const length = varint();
      const start = at;
      skip(length);
      yield { number, value: bytes.subarray(start, at) };
    } else if (wire === FIXED64) skip(8);
    else if (wire === FIXED32) skip(4);
    else throw bad(`wire type ${wire} (expected 0, 1, 2 or 5)`, at);
  }
}

function bad(what: string, at: number): BuilderError {
  return new BuilderError('ENGINE_ERROR', `BuildKit status record: ${what} at byte ${at}`);
}
