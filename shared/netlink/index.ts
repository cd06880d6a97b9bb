// The kernel-access API (contract: ./types.ts).
export * from './types';
export { NetlinkSocket, DEFAULT_TIMEOUT_MS } from './socket';
export { NetlinkMonitor, RTMGRP } from './monitor';
export type { Drained } from './monitor';
export type { NetlinkReply } from './socket';
export { NetlinkError, errnoName, errnoText, isNotFound, isExists } from './errors';
export {
  listLinks, getLinkByName, getLinkByIndex, createBridge, createVeth, createVxlan, setLinkUp,
  setLinkDown, setMaster, setMtu, setMac, setPromisc, setLinkName, setLinkNetns,
  setBridgeVlanFiltering, deleteLink, deleteLinkByName,
} from './links';
export { setBridgePortFlags, getBridgePortFlags, addBridgeVlan, delBridgeVlan, listBridgeVlans } from './bridge-port';
export type { BridgeVlanOpts } from './bridge-port';
export { addAddress, delAddress, listAddresses } from './addresses';
export type { AddAddressOpts } from './addresses';
export { addRoute, replaceRoute, delRoute, listRoutes, routeGet } from './routes';
export type { RouteFilter } from './routes';
export { replaceNeighbour, deleteNeighbour, listNeighbours } from './neighbours';
export { replaceFdb, deleteFdb, listFdb } from './fdb';
export type { FdbSpec } from './fdb';
export { ensureAddress, deleteAddressIfPresent, deleteRouteIfPresent } from './ensure';
export { formatMac, parseMac } from './attrs';
export * as constants from './constants';
