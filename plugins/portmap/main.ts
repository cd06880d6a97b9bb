import { runMain } from '../../shared/cni/dispatch';
import { portmapPlugin } from './plugin';

void runMain(portmapPlugin);
