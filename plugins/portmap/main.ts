import { runMain } from '../../shared/cni/main';

void runMain('portmap', () => (require('./plugin') as typeof import('./plugin')).portmapPlugin);
