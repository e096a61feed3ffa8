/**
 * The fuzzing harness shared by the seed-fixed slices (test/fuzz/*.fuzz.test.ts) and the large
 * run (bench/fuzz.ts). A target is one decoder's entry point and the inputs that reach deep into
 * it. The property every decoder keeps: it returns a value that passes its own check (schema,
 * round trip), or throws a StagexError with one of its documented codes and a message that says
 * where (the input's name) and why; never a TypeError, RangeError or other crash, never slower
 * than CASE_MS per case.
 */
import fc from 'fast-check';
import { StagexError } from '../../protocol/errors.ts';

/** The bound on one case: a decoder that takes longer on one input is reported as hanging. */
export const CASE_MS = 1000;
/** The seed of the slice CI runs: fixed, so a failure reproduces. */
export const SLICE_SEED = 20261206;

export interface FuzzTarget<I> {
  name: string;
  arbitrary: fc.Arbitrary<I>;
  /** The decoder's entry point on one input; may be asynchronous. */
  decode(input: I): unknown;
  /** The codes a rejection may carry. */
  codes: readonly string[];
  /** Text every rejection message must contain: the name the input was given (or that the decoder derives from it). */
  where: string | ((input: I) => string);
  /** Throws when an accepted value breaks the decoder's own contract (schema, round trip). */
  check?(value: unknown, input: I): void;
}

export type Outcome =
  | { kind: 'accepted'; ms: number }
  | { kind: 'rejected'; code: string; ms: number }
  | { kind: 'crash'; error: string; ms: number }
  | { kind: 'hang'; ms: number };

/** A message says why only when there is more to it than where. */
const MIN_WHY_CHARS = 12;

/** What an asynchronous case that outlives CASE_MS resolves to. */
const HANG = Symbol('hang');

/** Runs one case and says how it ended; never throws. An asynchronous case is cut off at CASE_MS; a synchronous one is measured (bench/fuzz.ts's watchdog ends one that never returns). */
export async function runCase<I>(target: FuzzTarget<I>, input: I): Promise<Outcome> {
  const start = performance.now();
  const ms = () => performance.now() - start;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof HANG>((resolve) => {
    timer = setTimeout(() => resolve(HANG), CASE_MS);
  });
  try {
    const value = await Promise.race([Promise.resolve().then(() => target.decode(input)), timeout]);
    if (value === HANG) return { kind: 'hang', ms: ms() };
    const elapsed = ms();
    if (elapsed > CASE_MS) return { kind: 'hang', ms: elapsed };
    target.check?.(value, input);
    return { kind: 'accepted', ms: elapsed };
  } catch (error) {
    const elapsed = ms();
    const why = unclear(target.codes, typeof target.where === 'string' ? target.where : target.where(input), error);
    if (why) return { kind: 'crash', error: why, ms: elapsed };
    return elapsed > CASE_MS ? { kind: 'hang', ms: elapsed } : { kind: 'rejected', code: codeOf(error as StagexError), ms: elapsed };
  } finally {
    clearTimeout(timer);
  }
}

/** The error's code, with the rule that failed when the error names one (TreeError's problem). */
function codeOf(error: StagexError): string {
  const problem = (error as { problem?: unknown }).problem;
  return typeof problem === 'string' ? `${error.code}/${problem}` : error.code;
}

/** Why a thrown error is not a clear rejection, or undefined when it is one. */
function unclear(codes: readonly string[], where: string, error: unknown): string | undefined {
  if (!(error instanceof StagexError)) return `expected a StagexError, got ${error instanceof Error ? error.stack : String(error)}`;
  if (!codes.includes(error.code)) return `expected one of the codes ${codes.join(', ')}, got ${error.code}: ${error.message}`;
  if (!error.message.includes(where)) return `expected the message to name ${JSON.stringify(where)}, got ${JSON.stringify(error.message)}`;
  if (error.message.length < where.length + MIN_WHY_CHARS) return `expected the message to say why, got ${JSON.stringify(error.message)}`;
  return undefined;
}

/** The seed-fixed slice: fails (shrunk to a small input) on the first crash or hang. */
export async function fuzzSlice<I>(target: FuzzTarget<I>, numRuns: number): Promise<void> {
  await fc.assert(fc.asyncProperty(target.arbitrary, async (input) => {
    const outcome = await runCase(target as FuzzTarget<unknown>, input);
    if (outcome.kind === 'crash') throw new Error(`${target.name}: ${outcome.error}`);
    if (outcome.kind === 'hang') throw new Error(`${target.name}: a case took ${outcome.ms.toFixed(0)} ms, over the ${CASE_MS} ms bound`);
  }), { seed: SLICE_SEED, numRuns });
}

// Mutations shared by the targets: what a hostile sender or a damaged file makes of valid bytes.

type ByteEdit =
  | { op: 'truncate'; at: number }
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number }
  | { op: 'repeat'; at: number; length: number };

const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0x00, 0x7f, 0x80, 0xff, 0x22, 0x5c, 0x0a) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('repeat' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
);

function applyEdit(bytes: Uint8Array, edit: ByteEdit): Uint8Array {
  const at = bytes.length === 0 ? 0 : edit.at % (bytes.length + (edit.op === 'insert' || edit.op === 'truncate' ? 1 : 0));
  const b = Buffer.from(bytes);
  switch (edit.op) {
    case 'truncate': return new Uint8Array(b.subarray(0, at));
    case 'flip': if (b.length > 0) b[at]! ^= 1 << edit.bit; return new Uint8Array(b);
    case 'set': if (b.length > 0) b[at] = edit.value; return new Uint8Array(b);
    case 'insert': return new Uint8Array(Buffer.concat([b.subarray(0, at), edit.bytes, b.subarray(at)]));
    case 'delete': return new Uint8Array(Buffer.concat([b.subarray(0, at), b.subarray(at + edit.length)]));
    case 'repeat': return new Uint8Array(Buffer.concat([b.subarray(0, at + edit.length), b.subarray(at)]));
  }
}

/** A valid sample with one to four byte edits: truncated, bit-flipped, spliced. */
export function mutatedBytes(samples: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.constantFrom(...samples), fc.array(byteEdit, { minLength: 1, maxLength: 4 }))
    .map(([sample, edits]) => edits.reduce(applyEdit, sample));
}

/** Text as the same edits leave it (decoded as UTF-8, so broken sequences become U+FFFD). */
export function mutatedText(samples: readonly string[]): fc.Arbitrary<string> {
  return mutatedBytes(samples.map((s) => new Uint8Array(Buffer.from(s)))).map((b) => Buffer.from(b).toString('utf8'));
}

/** JSON values a decoder may meet where it expects another: huge, tiny, unicode, nested. */
export const oddJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, 0, -1, 1e308, -1e308, 2 ** 53 + 1, 5e-324, '', '\u0000', '\ud800', '\u202e', 'A'.repeat(70_000), '=', '==', '@', '/'),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  // Deeper values are made as text (deepJsonText): the edits here clone and walk values recursively.
  fc.integer({ min: 1, max: 1000 }).map((depth) => nested(depth)),
);

/** An array nested `depth` deep: recursive code meets its stack limit. */
export function nested(depth: number): unknown {
  let value: unknown = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

type JsonPath = (string | number)[];

/** Every path in a JSON value, the root included. */
function pathsOf(value: unknown, at: JsonPath = []): JsonPath[] {
  const paths: JsonPath[] = [at];
  if (Array.isArray(value)) value.forEach((v, i) => paths.push(...pathsOf(v, [...at, i])));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths.push(...pathsOf(v, [...at, k]));
  return paths;
}

type JsonEdit = { op: 'drop' | 'replace' | 'duplicate' | 'rename'; pick: number; value: unknown };

const jsonEdit: fc.Arbitrary<JsonEdit> = fc.record({ op: fc.constantFrom('drop', 'replace', 'duplicate', 'rename'), pick: fc.nat(), value: oddJson });

/** `value` with `edit` applied at one of its paths (a deep copy; the sample is left alone). */
function applyJsonEdit(value: unknown, edit: JsonEdit): unknown {
  const copy = structuredClone(value);
  const paths = pathsOf(copy);
  const path = paths[edit.pick % paths.length]!;
  if (path.length === 0) return edit.op === 'replace' ? edit.value : copy;
  const parent = path.slice(0, -1).reduce<any>((v, k) => v[k], copy);
  const key = path[path.length - 1]!;
  if (edit.op === 'replace') parent[key] = edit.value;
  else if (Array.isArray(parent)) {
    if (edit.op === 'drop') parent.splice(key as number, 1);
    else parent.splice(key as number, 0, structuredClone(parent[key as number]));
  } else if (edit.op === 'drop') delete parent[key];
  else if (edit.op === 'rename') {
    parent[typeof edit.value === 'string' ? edit.value : `${String(key)}_`] = parent[key];
    delete parent[key];
  } else parent[`${String(key)}\u0000`] = parent[key];
  return copy;
}

/** Valid JSON samples with one to three field edits (dropped, replaced, duplicated, renamed), as text. */
export function mutatedJson(samples: readonly unknown[]): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom(...samples), fc.array(jsonEdit, { minLength: 1, maxLength: 3 }), fc.boolean())
    .map(([sample, edits, duplicateKey]) => {
      const text = JSON.stringify(edits.reduce(applyJsonEdit, sample)) ?? 'null';
      // A key given twice: JSON.parse keeps the last, a sender may count on another reader keeping the first.
      return duplicateKey && text.startsWith('{"') ? `{${text.slice(1, text.indexOf(',') > 0 ? text.indexOf(',') + 1 : 1)}${text.slice(1)}` : text;
    });
}

/** Text that nests JSON `depth` deep (arrays or objects), too deep for recursive code. */
export const deepJsonText: fc.Arbitrary<string> = fc.tuple(fc.integer({ min: 500, max: 20_000 }), fc.boolean())
  .map(([depth, objects]) => (objects ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` : `${'['.repeat(depth)}${']'.repeat(depth)}`));

/** Random bytes, short and long. */
export const randomBytes: fc.Arbitrary<Uint8Array> = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 4096 }));
