// The VXLAN device flanneld's vxlan backend uses. Apart from links.ts so that plugins, which
// import the modules they use rather than the barrel, never load daemon-only operations.
import type { NetlinkSocket } from './socket';
import type { Link, VxlanSpec } from './types';
import { RTM } from './constants';
import { vxlanCreatePayload } from './link-codec';
import { CREATE_EXCL, mustGetByName } from './links';

export function createVxlan(s: NetlinkSocket, spec: VxlanSpec): Link {
  s.request(RTM.NEWLINK, CREATE_EXCL, vxlanCreatePayload(spec));
  return mustGetByName(s, spec.name);
}
