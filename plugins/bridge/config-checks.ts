// The bridge config's refinements (see shared/cni/config-checks.ts). No zod here.
import type { Check } from '../../shared/cni/config-checks';

export const ifname: Check<string> = { test: (s) => s !== '.' && s !== '..', message: 'is not a valid interface name' };
