// The standalone executable: one binary for all four plugins, installed under each plugin's
// name (hard link or symlink); it runs the plugin named by the name it was invoked by.
import { runMain } from '../shared/cni/main';
import { registerInProcess, type Loaders, type PluginName } from './entry';

const LOADERS: Required<Loaders> = {
  flannel: () => (require('./flannel/plugin') as typeof import('./flannel/plugin')).flannelPlugin,
  bridge: () => (require('./bridge/plugin') as typeof import('./bridge/plugin')).bridgePlugin,
  'host-local': () => (require('./host-local/plugin') as typeof import('./host-local/plugin')).hostLocalPlugin,
  portmap: () => (require('./portmap/plugin') as typeof import('./portmap/plugin')).portmapPlugin,
};

const isPluginName = (n: string | undefined): n is PluginName => n !== undefined && n in LOADERS;

registerInProcess(LOADERS);
// The last path component, without node:path (loading it costs start-up time).
const invoked = (process.argv0 || process.argv[1] || '').replace(/\/+$/, '').split('/').pop() ?? '';
// `cni-ts-suite <plugin>` also works, for running the binary before it is installed.
const name = isPluginName(invoked) ? invoked : process.argv[2];
if (isPluginName(name)) {
  void runMain(name, LOADERS[name]);
} else {
  // `cni-ts-suite --help` / `--version`
  if (name?.startsWith('-')) {
    const usage = require('../shared/cni/usage') as typeof import('../shared/cni/usage');
    if (usage.cliFlag([name])) usage.printUsage();
  }
  process.stderr.write(
    `cni-ts-suite: run as one of ${Object.keys(LOADERS).join(', ')} (a link named after the plugin), ` +
      `or as "cni-ts-suite <plugin>"; invoked as ${JSON.stringify(invoked)} (cni-ts-suite --help explains)\n`,
  );
  process.exit(1);
}
