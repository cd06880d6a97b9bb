// Kernel error replies as typed errors. Messages follow Go's syscall.Errno strings (what the
// reference plugins print through vishvananda/netlink), with the extended-ACK text appended
// the same way ("file exists: <kernel message>").
import type { NetlinkErrorShape } from './types';

// errno, name, Go/libc text. Linux numbering (identical on x86-64 and arm64).
const ERRNOS: [number, string, string][] = [
  [1, 'EPERM', 'operation not permitted'],
  [2, 'ENOENT', 'no such file or directory'],
  [3, 'ESRCH', 'no such process'],
  [4, 'EINTR', 'interrupted system call'],
  [5, 'EIO', 'input/output error'],
  [6, 'ENXIO', 'no such device or address'],
  [7, 'E2BIG', 'argument list too long'],
  [9, 'EBADF', 'bad file descriptor'],
  [11, 'EAGAIN', 'resource temporarily unavailable'],
  [12, 'ENOMEM', 'cannot allocate memory'],
  [13, 'EACCES', 'permission denied'],
  [14, 'EFAULT', 'bad address'],
  [16, 'EBUSY', 'device or resource busy'],
  [17, 'EEXIST', 'file exists'],
  [18, 'EXDEV', 'invalid cross-device link'],
  [19, 'ENODEV', 'no such device'],
  [20, 'ENOTDIR', 'not a directory'],
  [21, 'EISDIR', 'is a directory'],
  [22, 'EINVAL', 'invalid argument'],
  [23, 'ENFILE', 'too many open files in system'],
  [24, 'EMFILE', 'too many open files'],
  [28, 'ENOSPC', 'no space left on device'],
  [30, 'EROFS', 'read-only file system'],
  [31, 'EMLINK', 'too many links'],
  [32, 'EPIPE', 'broken pipe'],
  [34, 'ERANGE', 'numerical result out of range'],
  [36, 'ENAMETOOLONG', 'file name too long'],
  [38, 'ENOSYS', 'function not implemented'],
  [39, 'ENOTEMPTY', 'directory not empty'],
  [40, 'ELOOP', 'too many levels of symbolic links'],
  [42, 'ENOMSG', 'no message of desired type'],
  [61, 'ENODATA', 'no data available'],
  [64, 'ENONET', 'machine is not on the network'],
  [67, 'ENOLINK', 'link has been severed'],
  [71, 'EPROTO', 'protocol error'],
  [74, 'EBADMSG', 'bad message'],
  [75, 'EOVERFLOW', 'value too large for defined data type'],
  [90, 'EMSGSIZE', 'message too long'],
  [92, 'ENOPROTOOPT', 'protocol not available'],
  [93, 'EPROTONOSUPPORT', 'protocol not supported'],
  [95, 'EOPNOTSUPP', 'operation not supported'],
  [97, 'EAFNOSUPPORT', 'address family not supported by protocol'],
  [98, 'EADDRINUSE', 'address already in use'],
  [99, 'EADDRNOTAVAIL', 'cannot assign requested address'],
  [100, 'ENETDOWN', 'network is down'],
  [101, 'ENETUNREACH', 'network is unreachable'],
  [104, 'ECONNRESET', 'connection reset by peer'],
  [105, 'ENOBUFS', 'no buffer space available'],
  [110, 'ETIMEDOUT', 'connection timed out'],
  [111, 'ECONNREFUSED', 'connection refused'],
  [113, 'EHOSTUNREACH', 'no route to host'],
  [114, 'EALREADY', 'operation already in progress'],
  [115, 'EINPROGRESS', 'operation now in progress'],
  [125, 'ECANCELED', 'operation canceled'],
  [132, 'ERFKILL', 'operation not possible due to RF-kill'],
];
const BY_NUMBER = new Map(ERRNOS.map(([n, name, text]) => [n, { name, text }]));

/** 'EEXIST' for 17; 'E<n>' when unknown. */
export function errnoName(errno: number): string {
  return BY_NUMBER.get(errno)?.name ?? `E${errno}`;
}

/** 'file exists' for 17 (Go's syscall.Errno text); 'errno <n>' when unknown. */
export function errnoText(errno: number): string {
  return BY_NUMBER.get(errno)?.text ?? `errno ${errno}`;
}

export class NetlinkError extends Error implements NetlinkErrorShape {
  readonly code: string;

  /**
   * @param errno positive errno from the kernel's NLMSG_ERROR
   * @param extack the kernel's extended-ACK message, if any
   * @param request name of the request (e.g. 'RTM_NEWLINK'), for diagnostics only
   */
  constructor(readonly errno: number, readonly extack?: string, readonly request?: string) {
    super(extack ? `${errnoText(errno)}: ${extack}` : errnoText(errno));
    this.name = 'NetlinkError';
    this.code = errnoName(errno);
  }
}

const codeOf = (e: unknown): string | undefined =>
  e && typeof e === 'object' && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : undefined;

/**
 * The object (link, address, route, neighbour, namespace) is not there: ENODEV (link),
 * EADDRNOTAVAIL (IPv4/IPv6 address), ESRCH (IPv4 route), ENOENT (IPv6 route, neighbour, file).
 */
export function isNotFound(e: unknown): boolean {
  const c = codeOf(e);
  return c === 'ENOENT' || c === 'ENODEV' || c === 'ESRCH' || c === 'EADDRNOTAVAIL';
}

export function isExists(e: unknown): boolean {
  return codeOf(e) === 'EEXIST';
}
