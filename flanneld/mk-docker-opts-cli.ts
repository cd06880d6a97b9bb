// `mk-docker-opts.sh` / `mk-docker-opts`: the flanneld executable invoked under one of these names
// (a hard link or symlink) behaves like flannel's dist/mk-docker-opts.sh, so the deployment
// notes' `ExecStartPost=/opt/kubernetes/bin/mk-docker-opts.sh -k DOCKER_NETWORK_OPTIONS -d
// /run/flannel/subnet.env` works unchanged. It loads nothing of the daemon (no etcd, no gRPC).
import * as fs from 'node:fs';
import { formatDockerOpts, mkDockerOptsUsage, MkDockerOptsError, parseMkDockerOptsArgs, sourceAssignments } from './mk-docker-opts';

/** Runs the command; returns the exit status (0, or 1 like the script on any failure). */
export function runMkDockerOpts(argv: string[], env: NodeJS.ProcessEnv, invokedAs: string): number {
  try {
    const o = parseMkDockerOptsArgs(argv);
    const vars: Record<string, string> = {};
    for (const [k, v] of Object.entries(env)) if (v !== undefined) vars[k] = v;
    // `[ -f "$flannel_env" ] && source`: a missing env file is not an error, its values are absent.
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(o.flannelEnv);
    } catch {
      st = undefined;
    }
    if (st?.isFile()) Object.assign(vars, sourceAssignments(fs.readFileSync(o.flannelEnv, 'utf8')));
    const text = formatDockerOpts(vars, o);
    // The script truncates and writes through the path (`>$docker_env`), no temp file: -d may name
    // /dev/stdout, and -d equal to -f replaces the flannel env file's content, as it does there.
    fs.writeFileSync(o.dockerEnv, text);
    return 0;
  } catch (e) {
    if (e instanceof MkDockerOptsError && e.usage) {
      if (e.message !== 'help requested') process.stderr.write(`${invokedAs}: ${e.message}\n`);
      process.stderr.write(mkDockerOptsUsage(invokedAs) + '\n');
      return 1;
    }
    process.stderr.write(`${invokedAs}: ${(e as Error).message}\n`);
    return 1;
  }
}
