// Stale UDP conntrack entries for a host port keep sending a flow to the old destination
// (a dead pod's address) until they expire, so they are deleted when a mapping changes.
import { log } from '../../shared/base/log';
import type { Family } from '../../shared/ip';
import { runTool } from '../../shared/netfilter/run';
import type { PortMapping } from './config';

/** Deletes UDP conntrack entries whose original destination port is a mapped host port. Never throws. */
export function flushUdpConntrack(mappings: readonly PortMapping[], family: Family): void {
  const ports = [...new Set(mappings.filter((m) => m.protocol === 'udp').map((m) => m.hostPort))];
  for (const port of ports) deleteUdpEntries(port, family, []);
}

/** A UDP host port forwarded to a container address (as found in the rules GC removes). */
export interface UdpForward {
  hostPort: number;
  /** the container address the flows were DNATed to */
  ip: string;
  family: Family;
}

/**
 * GC: deletes the UDP conntrack entries of removed forwards, only those whose reply comes from
 * the removed container's address, so a live container that took over the host port keeps its
 * flows. Never throws.
 */
export function flushUdpConntrackTo(forwards: readonly UdpForward[]): void {
  const seen = new Set<string>();
  for (const f of forwards) {
    const key = `${f.family} ${f.hostPort} ${f.ip}`;
    if (seen.has(key)) continue;
    seen.add(key);
    deleteUdpEntries(f.hostPort, f.family, ['--reply-src', f.ip]);
  }
}

function deleteUdpEntries(port: number, family: Family, extra: readonly string[]): void {
  const args = ['-D', '-p', 'udp', '--orig-port-dst', String(port), ...extra, '-f', family === 4 ? 'ipv4' : 'ipv6'];
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
