import { runMain } from '../../shared/cni/dispatch';

void runMain('portmap', () => (require('./plugin') as typeof import('./plugin')).portmapPlugin);
