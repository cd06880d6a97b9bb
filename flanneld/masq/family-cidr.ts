// Both rule renderers (iptables and nft) write a CIDR only into a table of its own family: a
// mismatch is a caller's bug, refused before any rule text exists.
import { type CIDR, type Family, formatCIDR } from '../../shared/ip';

export function familyCIDR(family: Family, what: string, c: CIDR): string {
  if (c.ip.family !== family) throw new RangeError(`${what} ${formatCIDR(c)} is not an IPv${family} CIDR`);
  return formatCIDR(c);
}
