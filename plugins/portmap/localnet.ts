// Connections to a host port from 127.0.0.1 are DNATed to the container but keep their
// loopback source, which the kernel drops as martian once routed out of an interface unless
// route_localnet is set there; the localhost rule then masquerades them.
import type { IP } from '../../shared/ip';
import { getLinkByIndex } from '../../shared/netlink/links';
import { routeGet } from '../../shared/netlink/routes';
import { NetlinkSocket } from '../../shared/netlink/socket';
import { writeSysctl } from '../../shared/netns';

/** Sets route_localnet=1 on the interface that routes to `containerIP` (no-op when none does). */
export function enableRouteLocalnet(containerIP: IP): void {
  const s = NetlinkSocket.open();
  let name: string | undefined;
  try {
    const route = routeGet(s, containerIP);
    if (route?.index !== undefined) name = getLinkByIndex(s, route.index)?.name;
  } finally {
    s.close();
  }
  if (!name) return;
  try {
    writeSysctl(`net/ipv4/conf/${name}/route_localnet`, '1');
  } catch (e) {
    throw new Error(`unable to enable route_localnet: ${(e as Error).message}`);
  }
}
