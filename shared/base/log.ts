// Logs go to stderr only (stdout carries the result or the error). Debug lines appear when
// CNI_TS_DEBUG=1, or are appended to the file named by CNI_TS_LOG_FILE.
// node:fs is loaded when a line is written: most calls log nothing (shared/base/node-fs.ts).
import { nodeFs } from './node-fs';

const debugOn = process.env.CNI_TS_DEBUG === '1' || process.env.CNI_TS_DEBUG === 'true';
const logFile = process.env.CNI_TS_LOG_FILE;

function emit(level: string, msg: string): void {
  const line = `${new Date().toISOString()} ${level} [${process.pid}] ${msg}\n`;
  if (logFile) {
    try {
      nodeFs().appendFileSync(logFile, line, { mode: 0o600 });
      return;
    } catch {
      /* fall back to stderr */
    }
  }
  try {
    nodeFs().writeSync(2, line);
  } catch {
    /* stderr closed: nothing to do */
  }
}

export const log = {
  debug(msg: string): void {
    if (debugOn || logFile) emit('debug', msg);
  },
  warn(msg: string): void {
    emit('warn', msg);
  },
};
