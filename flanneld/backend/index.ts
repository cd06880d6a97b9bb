// createBackend: the config's Backend.Type → its BackendNetwork (the main loop's one seam).
import { SUPPORTED_BACKENDS } from '../network-config';
import type { NetworkConfig } from '../types';
import type { NetlinkSocket } from '../../shared/netlink';
import type { ExternalInterface } from '../datapath/external-iface';
import { AllocNetwork } from './alloc';
import { HostGwNetwork } from './host-gw';
import { BackendError } from './types';
import type { BackendNetwork, BackendPersisted, Log } from './types';
import { VxlanNetwork } from './vxlan';
import type { BackendOptions } from './vxlan';

export * from './types';
export type { BackendOptions };
export { RTPROT_FLANNEL } from '../datapath/ownership';

/**
 * Sets the backend up in the socket's netns (vxlan: creates or reuses the devices) and returns it.
 * BackendError for an unknown type or a host it cannot run on.
 */
export function createBackend(
  sock: NetlinkSocket,
  config: NetworkConfig,
  ext: ExternalInterface,
  persisted: BackendPersisted,
  log: Log,
  opts: BackendOptions = {},
): BackendNetwork {
  switch (config.backend.type) {
    case 'vxlan':
      return new VxlanNetwork(sock, config, ext, persisted, log, opts);
    case 'host-gw':
      return new HostGwNetwork(sock, config, ext, log);
    case 'alloc':
      return new AllocNetwork(ext);
    default:
      throw new BackendError(config.backend.type, `unsupported backend type ${JSON.stringify(config.backend.type)} (supported: ${SUPPORTED_BACKENDS.join(', ')})`);
  }
}
