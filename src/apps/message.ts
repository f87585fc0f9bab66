/**
 * The seed's message: `{"msg": "Scale Test Message : COUNT <i>", "srcStamp": "<UTC YYYY-MM-DD HH:MM:SS.ffffff>"}`,
 * serialised the way Python's json.dumps does (", " and ": " separators, ASCII only) and sent as plain text,
 * so the seed's consumer reads ours and ours reads theirs.
 */

export const MESSAGE_PREFIX = "Scale Test Message : COUNT ";

export interface SeedMessage {
  msg: string;
  srcStamp: string;
}

/** Microseconds since the epoch, from the high-resolution clock (Date has only milliseconds). */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** Python's `datetime.utcnow().strftime('%Y-%m-%d %H:%M:%S.%f')`. */
export function formatStamp(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const d = new Date(ms);
  const frac = micros - Math.floor(micros / 1_000_000) * 1_000_000;
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(frac, 6)}`;
}

const STAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{6})$/;

/** Inverse of formatStamp; undefined if the text is not in that exact form. */
export function parseStamp(stamp: string): number | undefined {
  const m = STAMP.exec(stamp);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, us] = m.map(Number) as number[];
  const ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  if (Number.isNaN(ms)) return undefined;
  const micros = ms * 1000 + us!;
  // Date.UTC rolls over (month 13, minute 61): only a stamp that formats back to itself is a real time.
  return formatStamp(micros) === stamp ? micros : undefined;
}

/** Python json.dumps for a flat object of strings (ensure_ascii, default separators). */
export function pythonJson(obj: Record<string, string>): string {
  const str = (s: string) => JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return `{${Object.entries(obj)
    .map(([k, v]) => `${str(k)}: ${str(v)}`)
    .join(", ")}}`;
}

export function buildMessage(index: number, micros = nowMicros()): string {
  return pythonJson({ msg: `${MESSAGE_PREFIX}${index}`, srcStamp: formatStamp(micros) });
}

export type ParseResult = { ok: true; message: SeedMessage; srcMicros: number } | { ok: false; reason: string };

/** Validates a message body as the seed's consumer would use it; the reason names what is wrong. */
export function parseMessage(text: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: "body is not JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, reason: "body is not a JSON object" };
  const { msg, srcStamp } = value as Record<string, unknown>;
  if (typeof msg !== "string") return { ok: false, reason: 'field "msg" is missing or not a string' };
  if (typeof srcStamp !== "string") return { ok: false, reason: 'field "srcStamp" is missing or not a string' };
  const srcMicros = parseStamp(srcStamp);
  if (srcMicros === undefined) return { ok: false, reason: `field "srcStamp" is not "YYYY-MM-DD HH:MM:SS.ffffff": ${JSON.stringify(srcStamp.slice(0, 40))}` };
  return { ok: true, message: { msg, srcStamp }, srcMicros };
}

/** The COUNT index of a seed message text, if it has one. */
export function messageIndex(msg: string): number | undefined {
  if (!msg.startsWith(MESSAGE_PREFIX)) return undefined;
  const n = Number(msg.slice(MESSAGE_PREFIX.length));
  return Number.isInteger(n) ? n : undefined;
}
