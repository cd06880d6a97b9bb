// The text of `--help` / `--version` (of `cni-ts-suite` and of every plugin name): the suite
// version, which build this is, the plugins, the protocol versions and the environment knobs.
// Loaded only when such a flag is given, so a CNI call never evaluates it.
import { sysfs } from '../native/sysfs';
import { FALLBACK_DIRS, toolEnvName, TOOLS } from '../netfilter/run';
import { SUITE_VERSION } from './build-marker';
import { SUPPORTED_VERSIONS } from './version';

// node:fs under Node, the addon's file syscalls in the standalone build (shared/native/sysfs.ts).
const fs = sysfs();

/** The plugins of the suite (scripts/build.sh PLUGINS; test/unit/shared keeps them equal). */
export const SUITE_PLUGINS = ['flannel', 'bridge', 'host-local', 'portmap'] as const;

const HELP_FLAGS: readonly string[] = ['--help', '-h', '--version', '-v'];

/** The flag the command line asks for (its first argument after the plugin name), if any. */
export function cliFlag(args: readonly string[], plugin?: string): string | undefined {
  const first = plugin !== undefined && args[0] === plugin ? args[1] : args[0];
  return first !== undefined && HELP_FLAGS.includes(first) ? first : undefined;
}

interface UsageContext {
  /** The plugin name it was invoked as (undefined: `cni-ts-suite` itself). */
  plugin?: string;
  /** Bun's version for the standalone executable, undefined under Node. */
  bun?: string;
  node: string;
}

export function usageText(c: UsageContext): string {
  const build = c.bun !== undefined ? `standalone build, Bun ${c.bun}` : `node build, Node ${c.node}`;
  const self = c.plugin ?? 'cni-ts-suite';
  const W = 30;
  /** A two-column row; `more` continues the description under it. */
  const row = (left: string, right: string, ...more: string[]): string[] => [`  ${left.padEnd(W)}${right}`, ...more.map((m) => `  ${''.padEnd(W)}${m}`)];
  const lines = [
    `cni-ts-suite v${SUITE_VERSION} (${build})${c.plugin ? `: the ${c.plugin} plugin` : ''}`,
    `Plugins: ${SUITE_PLUGINS.join(', ')}`,
    `CNI protocol versions supported: ${SUPPORTED_VERSIONS.join(', ')}`,
    '',
    'Usage:',
    ...row(c.plugin ?? '<plugin>', 'a CNI plugin: the runtime sets CNI_COMMAND and the other CNI_*', 'variables and sends the network config on stdin; with no', 'CNI_COMMAND the plugin prints its about text'),
    ...(c.bun !== undefined ? row('cni-ts-suite <plugin>', 'the same, before the plugin links are installed') : []),
    ...row(`${self} --version|--help`, 'this text (exit 0)'),
    '',
    'Environment:',
    ...row('CNI_TS_DEBUG=1', 'debug log lines on stderr'),
    ...row('CNI_TS_LOG_FILE=<file>', 'append every log line (debug too) to <file>, not stderr'),
    ...row('CNI_TS_TIMING=1', 'a CNI_TS_TIMING line of per-phase timings (JSON) on stderr'),
    ...row('CNI_TS_<TOOL>=<path>', 'run <path> instead of the tool found on PATH (then in', `${FALLBACK_DIRS.join(', ')}):`, ...TOOLS.map(toolEnvName)),
    ...row('CNI_NETNS_OVERRIDE=1|true', "let ADD and CHECK use a CNI_NETNS that is the plugin's own", 'netns (refused otherwise, code 8: it would configure the node)'),
    '',
  ];
  return lines.join('\n');
}

/** Prints the usage text on stdout and exits 0. */
export function printUsage(plugin?: string): never {
  const text = usageText({ plugin, bun: process.versions.bun, node: process.version });
  fs.writeSync(1, text);
  process.exit(0);
}
