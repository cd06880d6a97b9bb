// Refinements of config fields, as plain functions with their messages: the zod schemas
// (plugins/*/config-schema.ts, build and tests only) refine with them through `refined()`
// (shared/cni/schema-refine.ts), and the validators generated from those schemas call the very
// same functions at run time. No zod here.
import { parseCIDR, parseIP } from '../ip';

/** A check of a value that already has its zod type; `message` is the message. */
export interface Check<T> {
  readonly test: (value: T) => boolean;
  readonly message: string;
}

/** Like Go's net.IP decoding, "" means "not given". */
export const ipOrEmpty: Check<string> = { test: (s) => s === '' || parseIP(s) !== null, message: 'must be an IP address' };

export const cidr: Check<string> = { test: (s) => parseCIDR(s) !== null, message: 'must be an address/prefix (CIDR)' };
