import { runMain } from '../../shared/cni/main';
import { registerInProcess } from '../entry';

// flannel → bridge → host-local in one process when the delegates in CNI_PATH are ours.
registerInProcess({
  bridge: () => (require('../bridge/plugin') as typeof import('../bridge/plugin')).bridgePlugin,
  'host-local': () => (require('../host-local/plugin') as typeof import('../host-local/plugin')).hostLocalPlugin,
});
void runMain('flannel', () => (require('./plugin') as typeof import('./plugin')).flannelPlugin);
