import { InvalidArgumentError } from "commander";
import { clip } from "../util/text.js";

/**
 * Option parsers that reject bad values with a message naming the expected form. The message reads after
 * the flag's name (`--replicas must be from 0 to 1000, got 5000`; see `commanderErrorLine`).
 */
export function intOption(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`must be a whole number${rangeText(min, max)}, got "${clip(value)}"`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`must be ${rangeText(min, max).slice(1)}, got ${clip(value.trim())}`);
    return n;
  };
}

export function numberOption(min: number, max = Number.MAX_VALUE) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError(`must be a number${rangeText(min, max)}, got "${clip(value)}"`);
    if (n < min || n > max) throw new InvalidArgumentError(`must be ${rangeText(min, max).slice(1)}, got ${clip(value.trim())}`);
    return n;
  };
}

/**
 * ` ≥ 1`, ` ≤ 1000`, ` from 0 to 1000`: only the bounds a person would state. A bound that is merely the
 * largest number JavaScript holds (the default) is no limit anyone chose, so it is not printed.
 */
function rangeText(min: number, max: number): string {
  const hasMin = Number.isFinite(min) && min > Number.MIN_SAFE_INTEGER;
  const hasMax = Number.isFinite(max) && max < Number.MAX_SAFE_INTEGER;
  if (hasMin && hasMax) return ` from ${min} to ${max}`;
  if (hasMin) return ` ≥ ${min}`;
  if (hasMax) return ` ≤ ${max}`;
  return "";
}

// Commander's wording (pinned version): `error: option '--x <n>' argument 'v' is invalid. <reason>`.
const INVALID_OPTION = /^error: option '(-[^' ]+)[^']*' (?:argument|value) '[\s\S]*' (?:from env '[^']*' )?is invalid\. ([\s\S]*?)\s*$/;
const INVALID_ARGUMENT = /^error: command-argument value '([\s\S]*)' is invalid for argument '([^']+)'\. ([\s\S]*?)\s*$/;
const CHOICES = /^Allowed choices are ([\s\S]*?)\.?$/;

/**
 * One `akspilot: ` line for an error commander reports itself (bad option value, unknown option or
 * command, missing argument), in the same form as every other error line, echoed input clipped.
 */
export function commanderErrorLine(raw: string): string {
  const text = raw.trim();
  const m = INVALID_OPTION.exec(text);
  if (m) {
    const [, flag, reason] = m as unknown as [string, string, string];
    const value = /argument '([\s\S]*)' is invalid/.exec(text)?.[1] ?? "";
    const choices = CHOICES.exec(reason);
    if (choices) return `akspilot: ${flag} must be one of ${choices[1]}, got "${clip(value)}"`;
    return `akspilot: ${flag} ${reason.replace(/\.$/, "")}`;
  }
  const arg = INVALID_ARGUMENT.exec(text);
  if (arg) {
    const [, value, name, reason] = arg as unknown as [string, string, string, string];
    const choices = CHOICES.exec(reason);
    if (choices) return `akspilot: <${name}> must be one of ${choices[1]}, got "${clip(value)}"`;
    return `akspilot: <${name}> ${reason.replace(/\.$/, "")}`;
  }
  // Other commander messages quote what was typed between single quotes: clip it.
  const body = text.replace(/^error: /, "").replace(/'([^']*)'/g, (_, q: string) => `'${clip(q)}'`);
  return `akspilot: ${body.split("\n")[0]}`;
}
