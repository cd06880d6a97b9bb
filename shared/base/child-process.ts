// `node:child_process`, loaded on first use. Loading it costs about 1.2 ms of every call of the
// standalone build (measured in a `bun build --compile --bytecode` executable), and most calls
// never spawn anything: a flannel ADD that delegates in-process runs no program at all.
import type * as ChildProcess from 'node:child_process';

let mod: typeof ChildProcess | undefined;

export function childProcess(): typeof ChildProcess {
  mod ??= require('node:child_process') as typeof ChildProcess;
  return mod;
}
