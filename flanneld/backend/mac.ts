// VTEP MAC addresses. flannel.<VNI> gets an explicit MAC at creation: left to the kernel and
// udev, systemd's MACAddressPolicy=persistent could rewrite it after we published it (field
// theme 5), leaving every peer with a stale ARP/FDB entry.
import { randomBytes } from 'crypto';
import { formatMac } from '../../shared/netlink';

/** A random locally-administered (bit 1 set) unicast (bit 0 clear) MAC. */
export function randomVtepMac(rand: (n: number) => Buffer = randomBytes): string {
  const b = Buffer.from(rand(6));
  b[0] = (b[0]! & 0xfe) | 0x02;
  return formatMac(b);
}
