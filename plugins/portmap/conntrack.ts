// Stale UDP conntrack entries for a host port keep sending a flow to the old destination
// (a dead pod's address) until they expire, so they are deleted when a mapping changes.
import { log } from '../../shared/cni/log';
import type { Family } from '../../shared/ip';
import { runTool } from '../../shared/netfilter/run';
import type { PortMapping } from './config';

/** Deletes UDP conntrack entries whose original destination port is a mapped host port. Never throws. */
export function flushUdpConntrack(mappings: readonly PortMapping[], family: Family): void {
  const ports = [...new Set(mappings.filter((m) => m.protocol === 'udp').map((m) => m.hostPort))];
  for (const port of ports) {
    const args = ['-D', '-p', 'udp', '--orig-port-dst', String(port), '-f', family === 4 ? 'ipv4' : 'ipv6'];
    try {
      const out = runTool('conntrack', args);
      // Exit 1 with "0 flow entries have been deleted" just means there were none.
      if (out.status !== 0 && !/0 flow entries/.test(out.stderr)) {
        log.warn(`failed to delete stale UDP conntrack entries for port ${port}: conntrack ${args.join(' ')}: ${out.stderr.trim()}`);
      }
    } catch (e) {
      log.warn(`failed to delete stale UDP conntrack entries for port ${port}: ${(e as Error).message}`);
    }
  }
}
