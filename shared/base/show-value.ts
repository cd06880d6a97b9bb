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
