// --ip-blackhole-route against the kernel in a throw-away namespace: the route as `ip route`
// shows it (blackhole, our protocol, the high metric), cni0's connected route winning while it is
// up and the blackhole taking over when it is down, the reconciler's view ignoring it, and an
// older subnet's blackhole replaced, for both families.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BLACKHOLE_METRIC, ensureBlackholeRoutes } from '../../flanneld/datapath/blackhole';
import { readOwned } from '../../flanneld/datapath/reconciler';
import { mustParseCIDR as c } from '../../shared/ip';
import { NetlinkSocket } from '../../shared/netlink';
import { NetNS, withNetns } from '../../shared/netns';
import { cleanupAllNetns, ipIn, ipJson, makeNetns } from '../helpers/netns';

describe('--ip-blackhole-route (netns)', () => {
  after(cleanupAllNetns);

  test('blackhole for our subnet with metric above cni0\'s; cni0 wins while up; not the reconciler\'s; an old subnet\'s replaced', () => {
    const t = makeNetns('fbh');
    const ns = t.name;
    ipIn(ns, ['link', 'add', 'cni0', 'type', 'bridge']);
    // A port with carrier, so cni0's routes are not linkdown (the kernel lacks the dummy driver here).
    ipIn(ns, ['link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
    ipIn(ns, ['link', 'set', 'v0', 'master', 'cni0', 'up']);
    ipIn(ns, ['link', 'set', 'v1', 'up']);
    ipIn(ns, ['addr', 'add', '10.5.52.1/24', 'dev', 'cni0']);
    ipIn(ns, ['addr', 'add', 'fd10:0:0:34::1/64', 'dev', 'cni0', 'nodad']);
    ipIn(ns, ['link', 'set', 'cni0', 'up']);
    const netns = NetNS.open(t.path);
    const sock = withNetns(netns, () => NetlinkSocket.open());
    try {
      const networks = { 4: c('10.5.0.0/16'), 6: c('fd10::/56') };
      // An older subnet's blackhole, left by an earlier run.
      ipIn(ns, ['route', 'add', 'blackhole', '10.5.9.0/24', 'proto', '127', 'metric', String(BLACKHOLE_METRIC)]);
      const r = ensureBlackholeRoutes(sock, { 4: c('10.5.52.0/24'), 6: c('fd10:0:0:34::/64') }, networks);
      assert.deepEqual(r, {
        added: [`blackhole 10.5.52.0/24 metric ${BLACKHOLE_METRIC}`, `blackhole fd10:0:0:34::/64 metric ${BLACKHOLE_METRIC}`],
        removed: [`blackhole 10.5.9.0/24 metric ${BLACKHOLE_METRIC}`],
        errors: [],
      });
      const bh4 = ipJson(ns, ['route', 'show', 'type', 'blackhole']);
      assert.deepEqual(bh4.map((x: any) => [x.type, x.dst, x.protocol, x.metric]), [['blackhole', '10.5.52.0/24', '127', BLACKHOLE_METRIC]]);
      const bh6 = ipJson(ns, ['-6', 'route', 'show', 'type', 'blackhole']);
      assert.deepEqual(bh6.map((x: any) => [x.dst, x.protocol, x.metric]), [['fd10:0:0:34::/64', '127', BLACKHOLE_METRIC]]);
      // Idempotent.
      assert.deepEqual(ensureBlackholeRoutes(sock, { 4: c('10.5.52.0/24'), 6: c('fd10:0:0:34::/64') }, networks), { added: [], removed: [], errors: [] });

      // cni0 up: its connected route wins; down: the blackhole drops (no route out of the node).
      assert.equal(ipJson(ns, ['route', 'get', '10.5.52.7'])[0].dev, 'cni0');
      assert.equal(ipJson(ns, ['-6', 'route', 'get', 'fd10:0:0:34::7'])[0].dev, 'cni0');
      ipIn(ns, ['link', 'set', 'cni0', 'down']);
      // (the kernel answers a route lookup that ends in a blackhole with EINVAL)
      assert.throws(() => ipJson(ns, ['route', 'get', '10.5.52.7']), /RTNETLINK answers: Invalid argument/);
      ipIn(ns, ['link', 'set', 'cni0', 'up']);

      // The reconciler's owned routes (which it deletes when no lease wants them) do not include it.
      const owned = readOwned(sock, { family: 4, network: networks[4] });
      assert.deepEqual(owned.routes, []);

      // The lease changed: the old blackhole goes, the new one comes.
      const r2 = ensureBlackholeRoutes(sock, { 4: c('10.5.53.0/24') }, { 4: networks[4] });
      assert.deepEqual(r2.removed, [`blackhole 10.5.52.0/24 metric ${BLACKHOLE_METRIC}`]);
      assert.deepEqual(ipJson(ns, ['route', 'show', 'type', 'blackhole']).map((x: any) => x.dst), ['10.5.53.0/24']);
    } finally {
      sock.close();
      netns.close();
    }
  });
});
