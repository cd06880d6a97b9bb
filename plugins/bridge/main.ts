import { runMain } from '../../shared/cni/main';
import { registerInProcess } from '../entry';

// The IPAM delegate runs in-process when the host-local found in CNI_PATH is ours.
registerInProcess({ 'host-local': () => (require('../host-local/plugin') as typeof import('../host-local/plugin')).hostLocalPlugin });
void runMain('bridge', () => (require('./plugin') as typeof import('./plugin')).bridgePlugin);
