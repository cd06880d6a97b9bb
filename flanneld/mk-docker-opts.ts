// mk-docker-opts (flannel's dist/mk-docker-opts.sh, flanneld.md §10) without its route check:
// turns the flannel env into dockerd options so dockerd's bridge takes this node's subnet.
// Pure: getopts-style arguments in, the docker env file's text out.
import { DEFAULT_SUBNET_FILE } from '../shared/subnet-env/format';

const MK_DOCKER_OPTS_USAGE = `mk-docker-opts [-f FLANNEL-ENV-FILE] [-d DOCKER-ENV-FILE] [-i] [-c] [-m] [-k COMBINED-KEY]

Generate Docker daemon options based on flannel env file
OPTIONS:
\t-f\tPath to flannel env file. Defaults to /run/flannel/subnet.env
\t-d\tPath to Docker env file to write to. Defaults to /run/docker_opts.env
\t-i\tOutput each Docker option as individual var. e.g. DOCKER_OPT_MTU=1500
\t-c\tOutput combined Docker options into DOCKER_OPTS var
\t-k\tSet the combined options key to this value (default DOCKER_OPTS=)
\t-m\tDo not output --ip-masq (useful for older Docker version)
`;

/** Bad arguments (the script prints its usage and exits 1) or a bad FLANNEL_IPMASQ. */
export class MkDockerOptsError extends Error {
  constructor(
    msg: string,
    /** True when the usage text should be printed. */
    readonly usage: boolean,
  ) {
    super(msg);
    this.name = 'MkDockerOptsError';
  }
}

interface MkDockerOptsArgs {
  /** -f: the flannel env file. */
  flannelEnv: string;
  /** -d: the docker env file written. */
  dockerEnv: string;
  /** -i: one DOCKER_OPT_<NAME>="…" line per option. */
  individual: boolean;
  /** -c: one <KEY>="…" line with all options. (Neither -i nor -c: both.) */
  combined: boolean;
  /** -k: the combined line's key. */
  combinedKey: string;
  /** False with -m: no --ip-masq option. */
  ipMasq: boolean;
  /** Arguments after the options; the script ignores them. */
  rest: string[];
}

const WITH_ARG = new Set(['f', 'd', 'k']);
const FLAGS = new Set(['i', 'c', 'm']);

/** getopts "f:d:icmk:?h": clustered flags (-ic), an option's value attached (-kX) or next (-k X), `--` ends. */
export function parseMkDockerOptsArgs(argv: string[]): MkDockerOptsArgs {
  const o: MkDockerOptsArgs = {
    flannelEnv: DEFAULT_SUBNET_FILE,
    dockerEnv: '/run/docker_opts.env',
    individual: false,
    combined: false,
    combinedKey: 'DOCKER_OPTS',
    ipMasq: true,
    rest: [],
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { i++; break; }
    if (a.length < 2 || a[0] !== '-') break;
    for (let j = 1; j < a.length; j++) {
      const ch = a[j]!;
      if (WITH_ARG.has(ch)) {
        let v = a.slice(j + 1);
        if (v === '') {
          if (i + 1 >= argv.length) throw new MkDockerOptsError(`option requires an argument -- ${ch}`, true);
          v = argv[++i]!;
        }
        if (ch === 'f') o.flannelEnv = v;
        else if (ch === 'd') o.dockerEnv = v;
        else o.combinedKey = v;
        break;
      }
      if (ch === 'h') throw new MkDockerOptsError('help requested', true);
      if (!FLAGS.has(ch)) throw new MkDockerOptsError(`illegal option -- ${ch}`, true);
      if (ch === 'i') o.individual = true;
      else if (ch === 'c') o.combined = true;
      else o.ipMasq = false;
    }
  }
  o.rest = argv.slice(i);
  if (!o.individual && !o.combined) o.individual = o.combined = true;
  // The script evals "\$$KEY"; only a shell variable name means anything there.
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(o.combinedKey)) throw new MkDockerOptsError(`-k ${JSON.stringify(o.combinedKey)} is not a variable name`, false);
  return o;
}

/**
 * The docker env file. `env` is what the script sees after sourcing the flannel env file: the
 * process environment overlaid with the file's assignments. As in the script, DOCKER_OPT_*
 * variables already in `env` are options too, all are emitted sorted by name, and the combined
 * value starts with the existing value of the combined key.
 */
export function formatDockerOpts(env: Record<string, string>, o: MkDockerOptsArgs): string {
  const opts = new Map<string, string>();
  for (const [k, v] of Object.entries(env)) if (k.startsWith('DOCKER_OPT_')) opts.set(k, v);
  const subnet = env.FLANNEL_SUBNET ?? '';
  const mtu = env.FLANNEL_MTU ?? '';
  const masq = env.FLANNEL_IPMASQ ?? '';
  if (subnet !== '') opts.set('DOCKER_OPT_BIP', `--bip=${subnet}`);
  if (mtu !== '') opts.set('DOCKER_OPT_MTU', `--mtu=${mtu}`);
  if (masq !== '' && o.ipMasq) {
    // flanneld masquerades for the network itself, so docker must not (and vice versa).
    if (masq === 'true') opts.set('DOCKER_OPT_IPMASQ', '--ip-masq=false');
    else if (masq === 'false') opts.set('DOCKER_OPT_IPMASQ', '--ip-masq=true');
    else throw new MkDockerOptsError(`Invalid value of FLANNEL_IPMASQ: ${masq}`, false);
  }
  const lines: string[] = [];
  const existing = env[o.combinedKey] ?? '';
  let combined = existing === '' ? '' : `${existing} `;
  for (const name of [...opts.keys()].sort()) {
    const v = opts.get(name)!;
    if (o.individual) lines.push(`${name}="${v}"`);
    combined += ` ${v}`;
  }
  if (o.combined) lines.push(`${o.combinedKey}="${combined}"`);
  return lines.map((l) => l + '\n').join('');
}

/**
 * The assignments `source FILE` makes for the files flanneld and humans write: `KEY=VALUE` lines,
 * an optional `export `, a value in single or double quotes (double quotes: `\"`, `\\`, `\$`
 * unescaped), `#` comment lines. Anything else (commands, expansions) is not run: the file is data.
 */
export function sourceAssignments(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const line = raw.trim().replace(/^export\s+/, '');
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!;
    if (v.startsWith("'")) {
      const end = v.indexOf("'", 1);
      v = end === -1 ? v.slice(1) : v.slice(1, end);
    } else if (v.startsWith('"')) {
      let s = '';
      for (let i = 1; i < v.length; i++) {
        const ch = v[i]!;
        if (ch === '"') break;
        if (ch === '\\' && i + 1 < v.length && '"\\$`'.includes(v[i + 1]!)) s += v[++i];
        else s += ch;
      }
      v = s;
    } else {
      // An unquoted word ends at blanks; ` #…` is a comment.
      v = v.split(/\s/)[0]!;
    }
    out[m[1]!] = v;
  }
  return out;
}

/** The usage text as the script prints it: its first word is how it was invoked ($0). */
export const mkDockerOptsUsage = (invokedAs: string): string => MK_DOCKER_OPTS_USAGE.replace(/^mk-docker-opts/, invokedAs);
