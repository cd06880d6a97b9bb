// Refinements the validator generator can compile (build and tests only: imports zod). A zod
// `.refine()` hides its predicate in a closure; `refined()` records which Check a refinement
// node runs, so scripts/gen-validators.ts can call the same exported Check in generated code.
// A `.refine()` made any other way is refused by the generator.
import type { z } from 'zod';
import type { Check } from './config-checks';

const checks = new WeakMap<z.ZodTypeAny, Check<never>>();

/** `schema.refine(check.test, { message: check.message })`, recorded for the generator. */
export function refined<T extends z.ZodTypeAny>(schema: T, check: Check<z.output<T>>): z.ZodEffects<T> {
  const node = schema.refine(check.test, { message: check.message });
  checks.set(node, check as Check<never>);
  return node;
}

/** The Check a refinement node was made with by `refined()`, if it was. */
export function checkOf(node: z.ZodTypeAny): Check<never> | undefined {
  return checks.get(node);
}
