// The kernel-access API (contract: ./types.ts), for the daemon and tests. Plugins import the
// modules they use instead: a barrel evaluates every module it names, daemon-only ones included.
export * from './types';
export { NetlinkSocket, DEFAULT_TIMEOUT_MS } from './socket';
export { NetlinkMonitor, RTMGRP } from './monitor';
export type { Drained } from './monitor';
export type { NetlinkReply } from './socket';
export { BATCH_CHUNK } from './batch';
export type { NetlinkOp } from './batch';
export { NetlinkError, errnoName, errnoText, isNotFound, isExists } from './errors';
export {
  listLinks, getLinkByName, getLinkByIndex, createBridge, createVeth, setLinkUp,
  setLinkDown, setMaster, setMtu, setMac, setPromisc, setLinkName, setLinkNetns,
  setBridgeVlanFiltering, deleteLink, deleteLinkByName,
} from './links';
export { createVxlan } from './vxlan';
export { setBridgePortFlags, getBridgePortFlags, addBridgeVlan, delBridgeVlan, listBridgeVlans } from './bridge-port';
export type { BridgeVlanOpts } from './bridge-port';
export { addAddress, delAddress, listAddresses } from './addresses';
export type { AddAddressOpts } from './addresses';
export { addRoute, replaceRoute, delRoute, listRoutes, routeGet, replaceRouteOp, delRouteOp } from './routes';
export type { RouteFilter } from './routes';
export { replaceNeighbour, deleteNeighbour, listNeighbours, replaceNeighbourOp, deleteNeighbourOp } from './neighbours';
export { replaceFdb, deleteFdb, listFdb, replaceFdbOp, deleteFdbOp } from './fdb';
export type { FdbSpec } from './fdb';
export { ensureAddress, deleteAddressIfPresent, deleteRouteIfPresent } from './ensure';
export { formatMac, parseMac } from './attrs';
export * as constants from './constants';
