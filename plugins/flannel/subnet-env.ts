// flanneld's /run/flannel/subnet.env: what this node's flannel lease is.
// flanneld writes it (atomically) once it holds a lease; until then the file does not exist.
// The format itself is shared with the daemon (shared/subnet-env/format.ts); here its errors
// become CNI errors. Sync fs: Bun's first async fs call starts a thread pool (about 0.9 ms of a plugin call).
import { sysfs } from '../../shared/native/sysfs';
import { CniError, ErrorCode } from '../../shared/cni/errors';
import { DEFAULT_SUBNET_FILE, parseSubnetEnv as parseFormat, type SubnetEnv, SubnetEnvFormatError } from '../../shared/subnet-env/format';

// node:fs under Node, the addon's file syscalls in the standalone build (shared/native/sysfs.ts).
const fs = sysfs();

export { DEFAULT_SUBNET_FILE, type SubnetEnv };

/**
 * Why the file could not be used: `not-found` (flanneld has not written it yet, or the path is
 * wrong), `unreadable` (permission, directory…), `invalid` (content).
 */
type SubnetEnvFailure = 'not-found' | 'unreadable' | 'invalid';

export class SubnetEnvError extends CniError {
  constructor(
    readonly reason: SubnetEnvFailure,
    msg: string,
  ) {
    // A missing file is transient by nature (flanneld writes it once it has a lease).
    super(reason === 'not-found' ? ErrorCode.TryAgainLater : ErrorCode.Internal, msg);
    this.name = 'SubnetEnvError';
  }
}

/** Parses subnet.env content; `file` only names the file in errors. Pure. */
export function parseSubnetEnv(text: string, file: string): SubnetEnv {
  try {
    return parseFormat(text, file);
  } catch (e) {
    if (e instanceof SubnetEnvFormatError) throw new SubnetEnvError('invalid', e.message);
    throw e;
  }
}

// Go's wording (`open <file>: no such file or directory`), which users search for.
const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ELOOP: 'too many levels of symbolic links',
};

/** Reads and parses the file; every failure is a SubnetEnvError that names the file. */
export async function loadSubnetEnv(file: string): Promise<SubnetEnv> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const what = ERRNO_TEXT[code] ?? (e instanceof Error ? e.message : String(e));
    const reason: SubnetEnvFailure = code === 'ENOENT' || code === 'ENOTDIR' ? 'not-found' : 'unreadable';
    throw new SubnetEnvError(reason, `open ${file}: ${what}`);
  }
  return parseSubnetEnv(text, file);
}
