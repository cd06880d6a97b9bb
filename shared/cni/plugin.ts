import type { AnyResult, NetConf } from './types';

export type Command = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';

/** Environment of one call: the process env, or the env a delegating plugin passes on. */
export type Env = Record<string, string | undefined>;

/** The validated CNI_* variables of one call. */
export interface CniEnv {
  command: Command;
  /** '' when the command does not require it (GC, STATUS, DEL without it is impossible). */
  containerId: string;
  /** '' when absent (DEL may come without it). */
  netns: string;
  ifname: string;
  /** Raw CNI_ARGS. */
  args: string;
  /** CNI_PATH split on ':' (empty entries dropped). */
  path: string[];
}

/** What a command handler gets: the validated CNI_* environment and the parsed config. */
export interface CmdArgs extends CniEnv {
  /** The config bytes exactly as received: delegates get them unchanged. */
  stdin: Buffer;
  /** The parsed config (loose: unknown keys kept); cniVersion normalised ('' → '0.1.0'). */
  conf: NetConf;
  /** The whole environment of this call, passed on to delegates. */
  env: Env;
}

/**
 * A plugin's command handlers. `add` returns a result of any version with its cniVersion set;
 * the dispatcher converts it to the config's version before printing.
 * Handlers throw CniError (or any Error, which becomes code 999).
 */
export interface Plugin {
  name: string;
  about: string;
  add(a: CmdArgs): Promise<AnyResult>;
  del(a: CmdArgs): Promise<void>;
  check(a: CmdArgs): Promise<void>;
  /**
   * Optional: validates an ADD's input as add() would, touching nothing (no file, link or rule).
   * A plugin delegating to this one in-process calls it before its own first change, so an
   * invalid delegate config fails the ADD while the node is still as it was.
   */
  checkAdd?(a: CmdArgs): Promise<void>;
  /** Absent → GC succeeds as a no-op (skel behaviour). */
  gc?(a: CmdArgs): Promise<void>;
  /** Absent → STATUS succeeds. */
  status?(a: CmdArgs): Promise<void>;
}
