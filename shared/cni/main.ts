// Process entry of every plugin. VERSION, which podman sends before every ADD and DEL, answers
// from here alone: no dispatcher, no plugin, not even node:fs (in a Bun-compiled executable
// loading node:fs costs about a millisecond, a fifth of an empty program's whole run).
// Every other call, and any call with command-line flags, goes to the dispatcher.
import type { Plugin } from './plugin';
import { versionText } from './version';

/** Bun's console.log writes straight to fd 1; under Node it would build process.stdout. */
function printLine(text: string): void {
  if (process.versions.bun) console.log(text);
  else (require('node:fs') as typeof import('node:fs')).writeSync(1, `${text}\n`);
}

export function runMain(name: string, load: () => Plugin): void {
  const flags = process.argv.slice(2).some((a) => a.startsWith('-'));
  if (process.env.CNI_COMMAND === 'VERSION' && !flags) {
    try {
      printLine(versionText());
    } catch {
      /* reader gone: nothing useful left to do */
    }
    process.exit(0);
  }
  void (require('./dispatch') as typeof import('./dispatch')).runMain(name, load);
}
