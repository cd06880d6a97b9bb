import { CniError, ErrorCode } from './errors';

// CNI_ARGS is "K=V;K2=V2" (CONVENTIONS.md). Keys are matched case-sensitively, as the
// reference's types.LoadArgs matches struct field names.

function parseBool(key: string, v: string): boolean {
  const l = v.toLowerCase();
  if (l === '1' || l === 'true') return true;
  if (l === '0' || l === 'false') return false;
  throw new CniError(ErrorCode.InvalidEnvironment, `ARGS: error parsing value of pair "${key}=${v}": Boolean unmarshal error: invalid input ${v}`);
}

/**
 * Returns the values of the `known` keys. Unknown keys are an error unless IgnoreUnknown is
 * 1/true (kubelet and podman always send IgnoreUnknown=1 with K8S_POD_* keys).
 */
export function parseCniArgs(raw: string | undefined, known: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  const unknown: string[] = [];
  let ignoreUnknown = false;
  for (const pair of raw.split(';')) {
    if (pair === '') continue;
    const parts = pair.split('=');
    if (parts.length !== 2) throw new CniError(ErrorCode.InvalidEnvironment, `ARGS: invalid pair "${pair}"`);
    const [k, v] = parts as [string, string];
    if (k === 'IgnoreUnknown') ignoreUnknown = parseBool(k, v);
    else if (known.includes(k)) out[k] = v;
    else unknown.push(pair);
  }
  if (unknown.length > 0 && !ignoreUnknown) {
    throw new CniError(ErrorCode.InvalidEnvironment, `ARGS: unknown args ${JSON.stringify(unknown)}`);
  }
  return out;
}
