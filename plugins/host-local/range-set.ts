// A range set: a pool of same-family ranges from which exactly one address is allocated.
import type { Family, IP } from '../../shared/ip';
import { type Range, RangeConfigError, type RangeSpec, canonicalizeRange, rangeContains, rangeString, rangesOverlap } from './range';

export type RangeSet = readonly Range[];

/** Canonicalises every range; the set must be non-empty, single-family and without overlaps. */
export function canonicalizeRangeSet(specs: readonly RangeSpec[]): RangeSet {
  if (specs.length === 0) throw new RangeConfigError('empty range set');
  const set = specs.map(canonicalizeRange);
  const fam = set[0]!.subnet.ip.family;
  if (set.some((r) => r.subnet.ip.family !== fam)) throw new RangeConfigError('mixed address families');
  for (let i = 0; i < set.length; i++) {
    for (let j = i + 1; j < set.length; j++) {
      if (rangesOverlap(set[i]!, set[j]!)) {
        throw new RangeConfigError(`subnets ${rangeString(set[i]!)} and ${rangeString(set[j]!)} overlap`);
      }
    }
  }
  return set;
}

export const rangeSetFamily = (s: RangeSet): Family => s[0]!.subnet.ip.family;

/** The range of the set that contains `ip`, or undefined. */
export function rangeFor(s: RangeSet, ip: IP): Range | undefined {
  return s.find((r) => rangeContains(r, ip));
}

export const rangeSetContains = (s: RangeSet, ip: IP): boolean => rangeFor(s, ip) !== undefined;

export function rangeSetsOverlap(a: RangeSet, b: RangeSet): boolean {
  return a.some((r) => b.some((r1) => rangesOverlap(r, r1)));
}

/** Ranges joined by ",", the reference's RangeSet.String(). */
export const rangeSetString = (s: RangeSet): string => s.map(rangeString).join(',');
