/** RFC 9110 §7.6.1: meant for one connection, never forwarded (plus the ones a Connection header names). */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"]);

/** The lengths of the hop-by-hop names: a name of another length needs no lower-casing to be kept. */
const HOP_LENGTHS = new Set([...HOP_BY_HOP].map((n) => n.length));

/** The header names a Connection header value lists, lower-cased (undefined when it lists none). */
function named(connection: string | undefined): Set<string> | undefined {
  if (connection === undefined) return undefined;
  const out = new Set<string>();
  for (const part of connection.split(",")) {
    const n = part.trim().toLowerCase();
    if (n) out.add(n);
  }
  return out.size > 0 ? out : undefined;
}

/** Every Connection header value of a raw [name, value, …] list, joined. */
function connectionValue(raw: readonly string[]): string | undefined {
  let v: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === "connection") v = v === undefined ? raw[i + 1]! : `${v},${raw[i + 1]!}`;
  }
  return v;
}

/**
 * The headers sent to the endpoint, as a flat [name, value, …] list built from the client's raw headers
 * (no per-request header object): hop-by-hop ones dropped; `content-length` left to the buffered body;
 * `expect` answered here (the body is already read); X-Forwarded-For gets the client's address appended,
 * X-Forwarded-Proto and X-Forwarded-Host say what the client asked for.
 */
export function upstreamHeaders(raw: readonly string[], clientAddress: string): string[] {
  const conn = connectionValue(raw);
  const drop = named(conn);
  const out: string[] = [];
  let prior: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const k = name.toLowerCase();
    const v = raw[i + 1]!;
    if (k.startsWith("x-forwarded-")) {
      if (k === "x-forwarded-for") prior = prior === undefined ? v : `${prior}, ${v}`;
      continue;
    }
    if (HOP_BY_HOP.has(k) || k === "content-length" || k === "expect" || drop?.has(k)) continue;
    if (k === "host") host = v;
    out.push(name, v);
  }
  const chain = prior?.trim();
  out.push("x-forwarded-for", chain ? `${chain}, ${clientAddress}` : clientAddress, "x-forwarded-proto", "http");
  if (host !== undefined) out.push("x-forwarded-host", host);
  return out;
}

/**
 * The endpoint's response headers (undici's raw list of Buffers) minus hop-by-hop ones, as a flat
 * [name, value, …] list for `writeHead` (Node frames the body for the client itself).
 */
export function downstreamHeaders(raw: readonly Buffer[]): string[] {
  const out: string[] = [];
  let conn: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString("latin1");
    const v = raw[i + 1]!.toString("latin1");
    const k = HOP_LENGTHS.has(name.length) ? name.toLowerCase() : "";
    if (HOP_BY_HOP.has(k)) {
      if (k === "connection") conn = conn === undefined ? v : `${conn},${v}`;
      continue;
    }
    out.push(name, v);
  }
  const drop = named(conn);
  if (!drop) return out;
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (!drop.has(out[i]!.toLowerCase())) kept.push(out[i]!, out[i + 1]!);
  return kept;
}
