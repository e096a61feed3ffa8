/**
 * Errors of the pure protocol layer. One class, a typed code per kind, so callers and tests
 * branch on `code`, never on message text. Messages say what, where, and "expected X, got Y".
 */
export type ProtocolErrorCode =
  | 'BAD_ENCODING'
  | 'BAD_KEY'
  | 'BAD_SIGNATURE'
  | 'BAD_ENVELOPE'
  | 'UNSUPPORTED_PAYLOAD_TYPE'
  | 'BAD_STATEMENT'
  | 'UNKNOWN_SIGNER'
  | 'MISSING_KEYID'
  | 'NOT_CANONICAL'
  | 'NOT_ONE_SIGNATURE'
  | 'BAD_TRUST_POLICY'
  | 'BAD_MANIFEST'
  | 'BAD_PACKAGE'
  | 'BAD_TREE'
  | 'BAD_FRAME'
  | 'BAD_PINS'
  | 'BAD_RECIPE'
  | 'BAD_SIGNATURE_PATH'
  | 'BAD_SIGNATURE_PAYLOAD';

export class StagexError<C extends string = string> extends Error {
  readonly code: C;
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StagexError';
    this.code = code;
  }
}

export class ProtocolError extends StagexError<ProtocolErrorCode> {
  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ProtocolError';
  }
}

/** Shortens a value for an error message: what was received, without flooding a log. */
export function describeValue(value: unknown, max = 80): string {
  if (typeof value === 'string') {
    const text = JSON.stringify(value);
    return text.length > max ? `${text.slice(0, max)}... (${text.length} chars)` : text;
  }
  const text = jsonHead(value, max);
  return text.length > max ? `${text.slice(0, max)}... (more)` : text;
}

/**
 * JSON text of a value (as JSON.stringify writes it; bigints and non-finite numbers as
 * written), stopped once it is longer than `budget` characters: it walks no further than it
 * shows, so a hostile value nested thousands deep costs what a flat one does, where
 * JSON.stringify would recurse to the stack limit and throw a RangeError.
 */
function jsonHead(value: unknown, budget: number): string {
  let out = '';
  const write = (text: string): boolean => {
    out += text;
    return out.length <= budget;
  };
  const walk = (v: unknown): boolean => {
    if (typeof v === 'bigint' || (typeof v === 'number' && !Number.isFinite(v))) return write(String(v));
    if (v === null || typeof v !== 'object' || typeof (v as { toJSON?: unknown }).toJSON === 'function') return write(JSON.stringify(v) ?? String(v));
    if (Array.isArray(v)) {
      if (!write('[')) return false;
      for (let i = 0; i < v.length; i++) if ((i > 0 && !write(',')) || !walk(v[i] ?? null)) return false;
      return write(']');
    }
    if (!write('{')) return false;
    let first = true;
    for (const [k, item] of Object.entries(v)) {
      if (item === undefined || typeof item === 'function') continue;
      if ((!first && !write(',')) || !write(`${JSON.stringify(k)}:`) || !walk(item)) return false;
      first = false;
    }
    return write('}');
  };
  walk(value);
  return out;
}

/** The value at a zod issue's path in the input, to say what was received. */
export function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let at = value;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

/** One line per zod issue: where (the field path), what was expected, and the value received. */
export function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[], input: unknown): string[] {
  return issues.map((issue) => {
    const value = valueAt(input, issue.path);
    return `  ${issue.path.join('.') || '(root)'}: ${issue.message}${value === undefined ? '' : `, got ${describeValue(value)}`}`;
  });
}
