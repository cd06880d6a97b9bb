// Idempotent forms for plugins whose ADD/DEL may be retried.
import type { CIDR, RouteSpec } from './types';
import type { NetlinkSocket } from './socket';
import { addAddress, delAddress } from './addresses';
import type { AddAddressOpts } from './addresses';
import { delRoute } from './routes';
import { isExists, isNotFound } from './errors';

/** Adds the address unless it is already there; true when it was added. */
export function ensureAddress(s: NetlinkSocket, index: number, cidr: CIDR, opts: AddAddressOpts = {}): boolean {
  try {
    addAddress(s, index, cidr, opts);
    return true;
  } catch (e) {
    if (isExists(e)) return false;
    throw e;
  }
}

/** Removes the address if present; true when it was removed. */
export function deleteAddressIfPresent(s: NetlinkSocket, index: number, cidr: CIDR): boolean {
  try {
    delAddress(s, index, cidr);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

/** Removes the route if present; true when it was removed. */
export function deleteRouteIfPresent(s: NetlinkSocket, r: RouteSpec): boolean {
  try {
    delRoute(s, r);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}
