import { z } from 'zod';
import { CniError, ErrorCode } from './errors';

function describePath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(config)';
}

/**
 * Validates `input` with a zod schema; the first issue becomes a CNI error (code 7 unless given)
 * whose msg names the field and the offending value, e.g.
 * `invalid config: mtu: must be an integer between 0 and 65535 (got 70000)`.
 */
export function validate<T extends z.ZodType>(
  schema: T,
  input: unknown,
  opts: { prefix?: string; code?: number } = {},
): z.infer<T> {
  const r = schema.safeParse(input, { reportInput: true });
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = describePath(issue.path);
  let got = '';
  if ('input' in issue && issue.input !== undefined) {
    let shown: string;
    try {
      shown = JSON.stringify(issue.input) ?? String(issue.input);
    } catch {
      shown = String(issue.input);
    }
    if (shown.length > 120) shown = shown.slice(0, 117) + '...';
    got = ` (got ${shown})`;
  }
  const prefix = opts.prefix ?? 'invalid config';
  return (() => {
    throw new CniError(opts.code ?? ErrorCode.InvalidNetworkConfig, `${prefix}: ${field}: ${issue.message}${got}`);
  })();
}
