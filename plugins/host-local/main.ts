import { runMain } from '../../shared/cni/dispatch';
import { hostLocalPlugin } from './plugin';

void runMain(hostLocalPlugin);
