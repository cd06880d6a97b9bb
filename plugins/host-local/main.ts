import { runMain } from '../../shared/cni/main';

void runMain('host-local', () => (require('./plugin') as typeof import('./plugin')).hostLocalPlugin);
