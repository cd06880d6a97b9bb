import { runMain } from '../../shared/cni/dispatch';

void runMain('host-local', () => (require('./plugin') as typeof import('./plugin')).hostLocalPlugin);
