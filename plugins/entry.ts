// Shared by the per-plugin entry points: which plugins each build can run in-process.
import type { Plugin } from '../shared/cni/plugin';
import { registerPlugin } from '../shared/cni/registry';

export type PluginName = 'flannel' | 'bridge' | 'host-local' | 'portmap';

export function registerAll(plugins: Partial<Record<PluginName, () => Plugin>>): void {
  for (const [name, load] of Object.entries(plugins)) registerPlugin(name, load as () => Plugin);
}
