// What the generated config validators (plugins/*/config-validators.generated.ts, written by
// scripts/gen-validators.ts from the zod schemas in plugins/*/config-schema.ts) share at run
// time. zod runs only at build time; this module and the generated code reproduce what zod 3's
// safeParse returns: the parsed data, or its FIRST issue (path and message).

interface Issue {
  path: (string | number)[];
  message: string;
}

export type ValidationResult<T> = { success: true; data: T } | { success: false; issue: Issue };

/** A generated config validator (one per compiled schema). */
export type Validator<T> = (input: unknown) => ValidationResult<T>;

/** Returned by a generated node function that found an issue (the issue is in `pending`). */
export const FAIL: unique symbol = Symbol('invalid');

let pending: Issue | undefined;

/** Records the first issue, at the current node; parents add their key on the way up. */
export function fail(message: string): typeof FAIL {
  pending = { path: [], message };
  return FAIL;
}

/** A child at `key` failed: its issue's path starts with `key`. */
export function failAt(key: string | number): typeof FAIL {
  pending!.path.unshift(key);
  return FAIL;
}

/** The result of a root node function. */
export function result<T>(v: unknown): ValidationResult<T> {
  if (v !== FAIL) return { success: true, data: v as T };
  const issue = pending!;
  pending = undefined;
  return { success: false, issue };
}

/** zod 3's getParsedType: the type name its messages use ("Expected string, received null"). */
export function parsedType(data: unknown): string {
  const t = typeof data;
  switch (t) {
    case 'undefined':
    case 'string':
    case 'boolean':
    case 'function':
    case 'bigint':
    case 'symbol':
      return t;
    case 'number':
      return Number.isNaN(data) ? 'nan' : 'number';
    case 'object': {
      if (Array.isArray(data)) return 'array';
      if (data === null) return 'null';
      const o = data as { then?: unknown; catch?: unknown };
      if (o.then && typeof o.then === 'function' && o.catch && typeof o.catch === 'function') return 'promise';
      if (data instanceof Map) return 'map';
      if (data instanceof Set) return 'set';
      if (data instanceof Date) return 'date';
      return 'object';
    }
    default:
      return 'unknown';
  }
}

/** zod 3's default message for a value of the wrong type. */
export function invalidType(expected: string, data: unknown): string {
  return data === undefined ? 'Required' : `Expected ${expected}, received ${parsedType(data)}`;
}
