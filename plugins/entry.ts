// Shared by the entry points. Plugins are loaded lazily (require inside a loader) so that
// VERSION, which podman sends before every ADD and DEL, loads no plugin code and no zod.
import type { Plugin } from '../shared/cni/plugin';
import { registerPlugin } from '../shared/cni/registry';

export type PluginName = 'flannel' | 'bridge' | 'host-local' | 'portmap';
export type Loaders = Partial<Record<PluginName, () => Plugin>>;

export function registerInProcess(loaders: Loaders): void {
  for (const [name, load] of Object.entries(loaders)) registerPlugin(name, load);
}
