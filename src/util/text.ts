/** Longest stretch of user input echoed in a message: enough to recognise it, never a screenful. */
export const ECHO_MAX = 80;

/**
 * `s` cut to `max` characters with an ellipsis. Control characters are shown escaped, so an echoed value
 * stays on one line and cannot move the terminal's cursor.
 */
export function clip(s: string, max = ECHO_MAX): string {
  const safe = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c === "\n" ? "\\n" : c === "\t" ? "\\t" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`));
  return safe.length > max ? `${safe.slice(0, max - 1)}…` : safe;
}
