import { z } from 'zod';
import { CniError, ErrorCode } from './errors';
import { showValue as show } from '../base/message-text';
import { timed } from '../base/timing';

function describePath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(config)';
}

/** The value at `path` inside `input` (undefined when the path leaves the input). */
function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: unknown = input;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}


/**
 * Validates `input` with a zod schema; the first issue becomes a CNI error (code 7 unless given)
 * whose msg names the field and the offending value, e.g.
 * `invalid config: mtu: must be an integer between 0 and 65535 (got 70000)`.
 */
export function validate<T extends z.ZodTypeAny>(
  schema: T,
  input: unknown,
  opts: { prefix?: string; code?: number } = {},
): z.infer<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const value = valueAt(input, issue.path);
  const got = value !== undefined ? ` (got ${show(value)})` : '';
  const prefix = opts.prefix ?? 'invalid config';
  throw new CniError(opts.code ?? ErrorCode.InvalidNetworkConfig, `${prefix}: ${describePath(issue.path)}: ${issue.message}${got}`);
}

/**
 * A schema built on its first use. Building zod schemas is real work at start-up (~1 ms for a
 * plugin's config in a compiled executable), so a command pays only for the schemas it parses:
 * DEL, GC and STATUS do not build ADD's.
 */
export function lazySchema<T extends z.ZodTypeAny>(build: () => T): () => T {
  let schema: T | undefined;
  return () => {
    if (schema) return schema;
    // Timed once, at the outermost build (schemas built inside it are part of it).
    building++;
    try {
      return (schema = building === 1 ? timed('schema', build) : build());
    } finally {
      building--;
    }
  };
}

let building = 0;
