// The standalone executable: one binary for all four plugins, installed under each plugin's
// name (hard link or symlink); it runs the plugin named by the name it was invoked by.
import * as path from 'node:path';
import { runMain } from '../shared/cni/dispatch';
import type { Plugin } from '../shared/cni/plugin';
import { bridgePlugin } from './bridge/plugin';
import { registerAll, type PluginName } from './entry';
import { flannelPlugin } from './flannel/plugin';
import { hostLocalPlugin } from './host-local/plugin';
import { portmapPlugin } from './portmap/plugin';

const PLUGINS: Record<PluginName, () => Plugin> = {
  flannel: () => flannelPlugin,
  bridge: () => bridgePlugin,
  'host-local': () => hostLocalPlugin,
  portmap: () => portmapPlugin,
};

const isPluginName = (n: string | undefined): n is PluginName => n !== undefined && n in PLUGINS;

registerAll(PLUGINS);
const invoked = path.basename(process.argv0 || process.argv[1] || '');
// `cni-ts-suite <plugin>` also works, for running the binary before it is installed.
const name = isPluginName(invoked) ? invoked : process.argv[2];
if (isPluginName(name)) {
  void runMain(PLUGINS[name]());
} else {
  process.stderr.write(
    `cni-ts-suite: run as one of ${Object.keys(PLUGINS).join(', ')} (a link named after the plugin), ` +
      `or as "cni-ts-suite <plugin>"; invoked as ${JSON.stringify(invoked)}\n`,
  );
  process.exit(1);
}
