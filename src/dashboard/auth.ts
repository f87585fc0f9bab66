import type { IncomingMessage } from "node:http";
import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Constant-time token check. Both sides are hashed first so that the comparison takes the same time
 * whatever the length of the guess (timingSafeEqual alone needs equal lengths and would leak the length).
 */
export function sameToken(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

/** One cookie's value from the request, or undefined. */
export function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** A request carries the run's token as the session cookie or as `Authorization: Bearer`. */
export function authorized(req: IncomingMessage, cookieName: string, token: string): boolean {
  const auth = req.headers.authorization;
  if (auth?.startsWith("Bearer ") && sameToken(auth.slice(7), token)) return true;
  const c = cookie(req, cookieName);
  return c !== undefined && sameToken(c, token);
}

/** The session cookie: unreadable by scripts, never sent by another site's page. */
export function sessionCookie(name: string, token: string): string {
  return `${name}=${token}; HttpOnly; SameSite=Strict; Path=/`;
}
