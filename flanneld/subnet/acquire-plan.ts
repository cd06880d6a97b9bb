// What to do to hold a lease, decided from one listing of `<prefix>/subnets/` (pure).
// Order (flannel's tryAcquireLease, made safe against the overwrites of flannel #1289):
//   1. a lease carrying our NodeID;
//   2. else a lease carrying our PublicIP whose NodeID is absent (written by Go flanneld) or ours;
//   3. else the previous subnet from subnet.env when no key overlaps it;
//   4. else a fresh allocation.
// A matched own lease that no longer fits the config is deleted (by CAS). Another node's key is
// never written. A matching reservation (no etcd lease) is used as it is, never re-written.
import { ipEquals, networkOf, overlaps, type CIDR } from '../../shared/ip';
import type { Family, Lease, LeaseAttrs, NetworkConfig, PerFamily } from '../types';
import { allocateSubnet, isCompatible } from './allocate';
import { enabledFamilies } from '../network-config';

type AcquirePlan =
  /** Rewrite our own key (CAS on its mod_revision) with our attrs and a fresh TTL. */
  | { kind: 'update'; lease: Lease; deletes: Lease[] }
  /** A reservation for us: use it as it is. */
  | { kind: 'reservation'; lease: Lease; deletes: Lease[] }
  /** Create the key (only if absent). */
  | { kind: 'create'; subnets: PerFamily<CIDR>; reason: 'prev' | 'allocated'; deletes: Lease[] };


/** Every enabled family has a compatible subnet and no disabled family has one. */
export function leaseFits(config: NetworkConfig, subnets: PerFamily<CIDR>): boolean {
  for (const f of [4, 6] as Family[]) {
    const plan = config.plans[f];
    const sn = subnets[f];
    const enabled = f === 4 ? config.enableIPv4 : config.enableIPv6;
    if (!enabled) {
      if (sn) return false;
      continue;
    }
    if (!plan || !sn || !isCompatible(plan, sn)) return false;
  }
  return true;
}

function isOurs(l: Lease, attrs: LeaseAttrs): 'node' | 'ip' | null {
  if (attrs.nodeId !== undefined && l.attrs.nodeId === attrs.nodeId) return 'node';
  if (l.attrs.nodeId !== undefined && l.attrs.nodeId !== attrs.nodeId) return null;
  for (const f of [4, 6] as Family[]) {
    const mine = attrs.publicIP[f];
    const theirs = l.attrs.publicIP[f];
    if (mine && theirs && ipEquals(mine, theirs)) return 'ip';
  }
  return null;
}

const allSubnets = (leases: Lease[]): CIDR[] => leases.flatMap((l) => Object.values(l.subnets) as CIDR[]);

export function planAcquire(
  config: NetworkConfig,
  leases: Lease[],
  attrs: LeaseAttrs,
  prev: PerFamily<CIDR>,
  random: () => number,
): AcquirePlan {
  // subnet.env holds the first host address (10.5.52.1/24); the lease is the network.
  prev = Object.fromEntries(Object.entries(prev).map(([f, c]) => [f, networkOf(c as CIDR)])) as PerFamily<CIDR>;
  const byNode = leases.filter((l) => isOurs(l, attrs) === 'node');
  const byIP = leases.filter((l) => isOurs(l, attrs) === 'ip');
  const own = [...byNode, ...byIP];
  const keep = own.find((l) => leaseFits(config, l.subnets));
  // Our other keys (incompatible ones, or duplicates) are stale: delete them, but never a
  // reservation, which an operator wrote by hand.
  const deletes = own.filter((l) => l !== keep && l.etcdLease !== '0');
  if (keep) {
    return keep.etcdLease === '0' ? { kind: 'reservation', lease: keep, deletes } : { kind: 'update', lease: keep, deletes };
  }
  const others = leases.filter((l) => !deletes.includes(l));
  const taken = allSubnets(others);
  const fams = enabledFamilies(config);
  if (fams.length > 0 && fams.every((f) => prev[f]) && leaseFits(config, prev)) {
    const free = fams.every((f) => !taken.some((t) => overlaps(t, prev[f]!)));
    if (free) {
      const subnets: PerFamily<CIDR> = {};
      for (const f of fams) subnets[f] = prev[f]!;
      return { kind: 'create', subnets, reason: 'prev', deletes };
    }
  }
  const subnets: PerFamily<CIDR> = {};
  for (const f of fams) subnets[f] = allocateSubnet(config.plans[f]!, taken, random);
  return { kind: 'create', subnets, reason: 'allocated', deletes };
}
