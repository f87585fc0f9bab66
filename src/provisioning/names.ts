import { randomInt, createHash } from "node:crypto";
import { UserError } from "../errors.js";

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** 6 characters from [a-z0-9], like the seed's `tr -dc a-z0-9 </dev/urandom | head -c 6`. */
export function randomSuffix(): string {
  let s = "";
  for (let i = 0; i < 6; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

export function checkSuffix(value: string): string {
  if (!/^[a-z0-9]{6}$/.test(value)) throw new UserError(`suffix "${value}" is not 6 characters of [a-z0-9]`, "omit --suffix to get a random one");
  return value;
}

/**
 * A deterministic GUID from its inputs (Bicep's guid()): a role assignment's name is then the same on every
 * run, so re-applying it is a no-op instead of a duplicate.
 */
export function stableGuid(...parts: string[]): string {
  const h = createHash("sha256").update(parts.join("|").toLowerCase()).digest("hex");
  // Version 5-style layout (variant bits set) so Azure accepts it as a GUID.
  const v = `5${h.slice(13, 16)}`;
  const variant = ((parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16) + h.slice(17, 20);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${v}-${variant}-${h.slice(20, 32)}`;
}
