import { runMain } from '../../shared/cni/dispatch';
import { bridgePlugin } from '../bridge/plugin';
import { registerAll } from '../entry';
import { hostLocalPlugin } from '../host-local/plugin';
import { flannelPlugin } from './plugin';

// flannel → bridge → host-local in one process when the delegates in CNI_PATH are ours.
registerAll({ bridge: () => bridgePlugin, 'host-local': () => hostLocalPlugin });
void runMain(flannelPlugin);
