import { runMain } from '../../shared/cni/dispatch';
import { hostLocalPlugin } from '../host-local/plugin';
import { registerAll } from '../entry';
import { bridgePlugin } from './plugin';

// The IPAM delegate runs in-process when the host-local found in CNI_PATH is ours.
registerAll({ 'host-local': () => hostLocalPlugin });
void runMain(bridgePlugin);
