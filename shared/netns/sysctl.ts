// sysctls under /proc/sys. Network sysctls resolve against the network namespace of the thread
// that opens the file, so these act inside the current withNetns() window when called in one.
import { sysfs } from '../native/sysfs';

// node:fs under Node, the addon's file syscalls in the standalone build (shared/native/sysfs.ts).
const fs = sysfs();

/**
 * The /proc/sys path of a sysctl. The slash form ('net/ipv4/conf/eth0.100/arp_notify') is
 * used as given, so interface names containing '.' work; the dotted form
 * ('net.ipv4.ip_forward') has its dots turned into slashes.
 */
export function sysctlPath(name: string): string {
  let n = name.trim();
  if (n.startsWith('/proc/sys/')) n = n.slice('/proc/sys/'.length);
  if (!n.includes('/')) n = n.replace(/\./g, '/');
  n = n.replace(/^\/+/, '');
  if (n === '' || n.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new TypeError(`invalid sysctl name ${JSON.stringify(name)}`);
  }
  return `/proc/sys/${n}`;
}

/** The value with its trailing newline removed. */
export function readSysctl(name: string): string {
  return fs.readFileSync(sysctlPath(name), 'utf8').replace(/\n$/, '');
}

export function writeSysctl(name: string, value: string | number): void {
  // One write(2) of the whole value: proc handlers parse a single write.
  fs.writeFileSync(sysctlPath(name), String(value));
}
