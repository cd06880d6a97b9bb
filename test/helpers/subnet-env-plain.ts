// A parsed subnet.env in plain strings, for deepEqual (the shared format's and the plugin's tests).
import { formatCIDR } from '../../shared/ip';
import type { SubnetEnv } from '../../shared/subnet-env/format';

export function plainSubnetEnv(e: SubnetEnv): Record<string, unknown> {
  return {
    networks: e.networks.map(formatCIDR),
    subnet: e.subnet && formatCIDR(e.subnet),
    ip6Networks: e.ip6Networks.map(formatCIDR),
    ip6Subnet: e.ip6Subnet && formatCIDR(e.ip6Subnet),
    mtu: e.mtu,
    ipMasq: e.ipMasq,
  };
}
