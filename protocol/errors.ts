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
  const text = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value) ?? value);
  return text.length > max ? `${text.slice(0, max)}... (${text.length} chars)` : text;
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
