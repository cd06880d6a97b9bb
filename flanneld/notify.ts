// systemd readiness (sd_notify(3)): with Type=notify, systemd starts the units ordered after
// flanneld (docker, kubelet) only once it says READY=1 on the datagram socket named by
// $NOTIFY_SOCKET, i.e. once subnet.env is written. Without $NOTIFY_SOCKET (not under systemd, or
// Type=simple) these are no-ops.
import { native } from '../shared/native/addon';

function send(message: string, env: NodeJS.ProcessEnv): boolean {
  const socket = env.NOTIFY_SOCKET;
  if (!socket) return false;
  native().sdNotify(socket, message);
  return true;
}

/** `READY=1` (plus `STATUS=<status>` when given); true when a notification was sent. */
export function notifyReady(status?: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return send(status ? `READY=1\nSTATUS=${oneLine(status)}` : 'READY=1', env);
}

/** `STATUS=<text>`: the line `systemctl status` shows. */
export function notifyStatus(status: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return send(`STATUS=${oneLine(status)}`, env);
}

/** `STOPPING=1`, before a clean shutdown. */
export function notifyStopping(env: NodeJS.ProcessEnv = process.env): boolean {
  return send('STOPPING=1', env);
}

// The protocol is newline-separated KEY=VALUE assignments: a newline in a value would start a
// new (bogus) assignment.
const oneLine = (s: string): string => s.replace(/[\r\n]+/g, ' ');
