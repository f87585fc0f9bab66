import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

/** RFC 9110 §7.6.1: meant for one connection, never forwarded (plus the ones a Connection header names). */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"]);

function named(connection: string | string[] | undefined): Set<string> {
  const v = Array.isArray(connection) ? connection.join(",") : connection ?? "";
  return new Set(v.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean));
}

/**
 * The headers sent to the endpoint: hop-by-hop ones dropped; `content-length` recomputed from the
 * buffered body; `expect` answered here (the body is already read); X-Forwarded-For gets the client's
 * address appended, X-Forwarded-Proto and X-Forwarded-Host say what the client asked for.
 */
export function upstreamHeaders(h: IncomingHttpHeaders, clientAddress: string): Record<string, string | string[]> {
  const drop = named(h.connection);
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || HOP_BY_HOP.has(k) || drop.has(k) || k === "content-length" || k === "expect") continue;
    if (k.startsWith("x-forwarded-")) continue;
    out[k] = v;
  }
  const prior = h["x-forwarded-for"];
  const chain = (Array.isArray(prior) ? prior.join(", ") : prior)?.trim();
  out["x-forwarded-for"] = chain ? `${chain}, ${clientAddress}` : clientAddress;
  out["x-forwarded-proto"] = "http";
  if (h.host !== undefined) out["x-forwarded-host"] = h.host;
  return out;
}

/** The endpoint's response headers minus hop-by-hop ones (Node frames the body for the client itself). */
export function downstreamHeaders(h: Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const drop = named(h.connection);
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || HOP_BY_HOP.has(k) || drop.has(k)) continue;
    out[k] = v;
  }
  return out;
}
