// An emulated L2 underlay for multi-node tests: a bridge in a "fabric" namespace and hosts
// (namespaces) plugged into it by a veth named eth0, each with one address of 10.0.0.0/24 and
// a default route via the first host, the way machines on one LAN look to flanneld. With a v6
// prefix (e.g. 'fd00::') each host also gets `<prefix><octet>/64` and a v6 default route via
// `<prefix>1`; the v4 side is the same either way.
import { ipIn, makeNetns, type TestNetns } from './netns';

export interface UnderlayHost {
  ns: TestNetns;
  /** the host's eth0 address */
  ip: string;
  /** the host's eth0 IPv6 address, when the underlay has a v6 prefix */
  ip6?: string;
}

export class Underlay {
  readonly fabric: TestNetns;
  readonly hosts: UnderlayHost[] = [];
  private n = 0;

  constructor(
    private readonly tag: string,
    readonly cidrPrefix = '10.0.0',
    readonly gateway = '10.0.0.1',
    readonly v6Prefix?: string,
  ) {
    this.fabric = makeNetns(`${tag}-fab`);
    ipIn(this.fabric.name, ['link', 'add', 'br0', 'type', 'bridge']);
    ipIn(this.fabric.name, ['link', 'set', 'br0', 'up']);
  }

  /** A new host with address `<prefix>.<octet>/24` on eth0 (MTU 1500), lo up, default route via the gateway. */
  addHost(name: string, octet: number): UnderlayHost {
    const ns = makeNetns(`${this.tag}-${name}`);
    const port = `p${++this.n}`;
    const ip = `${this.cidrPrefix}.${octet}`;
    ipIn(ns.name, ['link', 'set', 'lo', 'up']);
    ipIn(ns.name, ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', port, 'netns', this.fabric.name]);
    ipIn(this.fabric.name, ['link', 'set', port, 'master', 'br0', 'up']);
    ipIn(ns.name, ['addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    ipIn(ns.name, ['link', 'set', 'eth0', 'up']);
    if (ip !== this.gateway) ipIn(ns.name, ['route', 'add', 'default', 'via', this.gateway]);
    const h: UnderlayHost = { ns, ip };
    if (this.v6Prefix !== undefined) {
      h.ip6 = `${this.v6Prefix}${octet}`;
      // nodad: usable at once (a test does not wait for duplicate address detection).
      ipIn(ns.name, ['-6', 'addr', 'add', `${h.ip6}/64`, 'dev', 'eth0', 'nodad']);
      if (octet !== 1) ipIn(ns.name, ['-6', 'route', 'add', 'default', 'via', `${this.v6Prefix}1`]);
    }
    this.hosts.push(h);
    return h;
  }
}
