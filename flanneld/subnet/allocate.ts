// Free-subnet selection for one address family (flannel's allocateSubnet): walk SubnetMin..SubnetMax
// in subnet-size steps, skip what overlaps a lease or reservation, keep up to 100 free candidates and
// pick one at random so that nodes starting together rarely race for the same subnet.
import { bitsOf, compareIP, formatCIDR, formatIP, overlaps, type CIDR } from '../../shared/ip';
import type { FamilyPlan } from '../types';
import { OutOfSubnetsError } from './errors';

export const MAX_CANDIDATES = 100;

/** A lease's subnet fits the plan: prefix length SubnetLen and address within [SubnetMin, SubnetMax]. */
export function isCompatible(plan: FamilyPlan, subnet: CIDR): boolean {
  return (
    subnet.ip.family === plan.subnetMin.family &&
    subnet.prefix === plan.subnetLen &&
    compareIP(subnet.ip, plan.subnetMin) >= 0 &&
    compareIP(subnet.ip, plan.subnetMax) <= 0
  );
}

/** Free candidates in the plan's range, at most `limit`, in address order. */
export function freeCandidates(plan: FamilyPlan, taken: CIDR[], limit = MAX_CANDIDATES): CIDR[] {
  const family = plan.subnetMin.family;
  const bits = BigInt(bitsOf(family));
  const step = 1n << (bits - BigInt(plan.subnetLen));
  const sameFamily = taken.filter((t) => t.ip.family === family);
  const out: CIDR[] = [];
  let v = plan.subnetMin.value;
  const max = plan.subnetMax.value;
  while (v <= max && out.length < limit) {
    const cand: CIDR = { ip: { family, value: v }, prefix: plan.subnetLen };
    const hit = sameFamily.find((t) => overlaps(t, cand));
    if (!hit) {
      out.push(cand);
      v += step;
      continue;
    }
    // Jump past the overlapping lease (a bigger one may span many steps; huge v6 ranges must not be
    // walked one subnet at a time), aligned up to the next subnet boundary.
    const hitSize = 1n << (bits - BigInt(Math.min(hit.prefix, plan.subnetLen)));
    const hitEnd = (hit.ip.value & ~(hitSize - 1n)) + hitSize;
    const next = ((hitEnd + step - 1n) / step) * step;
    v = next > v ? next : v + step;
  }
  return out;
}

/**
 * Picks a free subnet for the plan; `random()` returns [0, 1) like Math.random.
 * Throws OutOfSubnetsError when the range is full.
 */
export function allocateSubnet(plan: FamilyPlan, taken: CIDR[], random: () => number): CIDR {
  const cands = freeCandidates(plan, taken);
  if (cands.length === 0) {
    const leased = taken.filter(
      (t) => t.ip.family === plan.subnetMin.family && compareIP(t.ip, plan.subnetMin) >= 0 && compareIP(t.ip, plan.subnetMax) <= 0,
    ).length;
    throw new OutOfSubnetsError(formatCIDR(plan.network), leased, formatIP(plan.subnetMin), formatIP(plan.subnetMax));
  }
  const i = Math.min(cands.length - 1, Math.floor(random() * cands.length));
  return cands[i]!;
}
