// Plugins this process can run in-process when a delegate found in CNI_PATH is our own build.
// Entry points register what they bundle; loaders are lazy so unused plugins cost nothing.
import type { Plugin } from './plugin';

const loaders = new Map<string, () => Plugin>();

export function registerPlugin(name: string, load: () => Plugin): void {
  loaders.set(name, load);
}

export function inProcessPlugin(name: string): Plugin | undefined {
  return loaders.get(name)?.();
}
