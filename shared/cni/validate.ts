import { CniError, ErrorCode } from './errors';
import { showValue as show } from '../base/message-text';
import { timed } from '../base/timing';
import type { Validator } from './validator-runtime';

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
 * Validates `input` with a config validator generated from a zod schema (scripts/gen-validators.ts:
 * zod runs only at build time); its first issue becomes a CNI error (code 7 unless given) whose
 * msg names the field and the offending value, e.g.
 * `invalid config: mtu: must be an integer between 0 and 65535 (got 70000)`.
 */
export function validate<T>(validator: Validator<T>, input: unknown, opts: { prefix?: string; code?: number } = {}): T {
  const r = timed('validate', () => validator(input));
  if (r.success) return r.data;
  const { issue } = r;
  const value = valueAt(input, issue.path);
  const got = value !== undefined ? ` (got ${show(value)})` : '';
  const prefix = opts.prefix ?? 'invalid config';
  throw new CniError(opts.code ?? ErrorCode.InvalidNetworkConfig, `${prefix}: ${describePath(issue.path)}: ${issue.message}${got}`);
}
