// flanneld's entry: flags and FLANNELD_* environment → Options, then the daemon. Exit codes:
// 0 after SIGTERM/SIGINT (nothing flushed), 1 when it cannot start (missing or invalid network
// config, no interface, etcd refused), 2 for a bad command line. Errors are one line on stderr,
// never a stack trace. Invoked as mk-docker-opts.sh / mk-docker-opts (a link to this executable)
// it is that command instead (flanneld/mk-docker-opts-cli.ts).
import * as path from 'node:path';
import { createLogger } from './log';
import { HELP_TEXT, OptionsError, parseOptions, redactedOptions } from './options';
import { installEmbeddedProtos } from './etcd/embedded-protos';
import { VERSION } from './version';

function fail(code: number, msg: string): never {
  process.stderr.write(`flanneld: ${msg}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let opts;
  try {
    opts = parseOptions(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof OptionsError) fail(2, e.message);
    throw e;
  }
  if (opts.help) {
    process.stdout.write(HELP_TEXT);
    process.exit(0);
  }
  if (opts.version) {
    process.stdout.write(`${VERSION}\n`);
    process.exit(0);
  }
  const logger = createLogger(opts.logLevel);
  logger.log('info', `flanneld ${VERSION} (cni-ts-suite) starting, pid ${process.pid}: ${JSON.stringify(redactedOptions(opts))}`);
  // The daemon's modules (etcd client, gRPC) load only now: --help and --version stay cheap,
  // and etcd3 finds its embedded .proto files.
  installEmbeddedProtos();
  const { Daemon } = require('./daemon') as typeof import('./daemon');
  const daemon = new Daemon(opts, logger);
  let stopping = false;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      void daemon.stop(sig).finally(() => process.exit(0));
    });
  }
  try {
    await daemon.start();
  } catch (e) {
    if (stopping) return;
    logger.log('error', (e as Error).message);
    fail(1, (e as Error).message);
  }
}

// One line, never a stack trace, whatever escapes (the daemon's datapath stays as it is).
process.on('unhandledRejection', (e) => {
  fail(1, `internal error: ${e instanceof Error ? e.message : String(e)}`);
});
process.on('uncaughtException', (e) => {
  fail(1, `internal error: ${e instanceof Error ? e.message : String(e)}`);
});

// node runs a bundle link as `node /dir/<link>` (argv[1]); a compiled executable sees its link in argv0.
const invokedAs = [process.argv0, process.argv[1]].find((a) => a && /^mk-docker-opts(\.sh)?$/.test(path.basename(a)));
if (invokedAs) {
  const cli = require('./mk-docker-opts-cli') as typeof import('./mk-docker-opts-cli');
  process.exitCode = cli.runMkDockerOpts(process.argv.slice(2), process.env, invokedAs);
} else {
  void main();
}
