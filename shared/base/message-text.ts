// How values and errors appear in error messages. One module rather than two: each module a
// plugin call loads costs start-up time.

// A config value quoted for an error message: JSON where possible, cut at 120 characters so a
// huge or hostile value cannot flood the runtime's log.
export function showValue(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 120 ? s.slice(0, 117) + '...' : s;
}

// An errno-carrying error as one line of text for a message. Node's and Bun's fs errors already
// start with the errno name ("ENOTDIR: not a directory, mkdir '/x'"), the addon's end with it
// ("flock: Input/output error (EIO)"); any other error with a `code` gets it put in front.
export function errnoText(e: unknown): string {
  const err = e as { code?: unknown; message?: string };
  const msg = err.message ?? String(e);
  return typeof err.code === 'string' && err.code !== '' && !msg.includes(err.code) ? `${err.code}: ${msg}` : msg;
}
