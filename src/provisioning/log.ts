import { makeDirectory } from "../util/secure-fs.js";
import { appendFileSync } from "node:fs";
import { join } from "node:path";

/** `2026-11-21 22:43:07+00:00`, the seed deploy.sh's log stamp (`date '+%Y-%m-%d %H:%M:%S%:z'`). */
export function logStamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const abs = Math.abs(off);
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}${sign}${p(Math.floor(abs / 60))}:${p(abs % 60)}`;
}

export type LogLevel = "info" | "ok" | "warn" | "error";

/**
 * Progress lines to the terminal and to a file under logs/. Every line passes through redaction: a value
 * registered with `secret()` is replaced before it reaches either sink.
 */
export class ProvisionLog {
  readonly file: string;
  private readonly secrets = new Set<string>();

  constructor(
    logsDir: string,
    name: string,
    private readonly out: (line: string) => void,
  ) {
    makeDirectory(logsDir);
    this.file = join(logsDir, `${name}.log`);
  }

  /** Marks a value as secret: it is never written out, whatever code path tries to. */
  secret(value: string): void {
    if (value.length >= 4) this.secrets.add(value);
  }

  redact(text: string): string {
    let t = text;
    for (const s of this.secrets) t = t.split(s).join("***");
    return t;
  }

  line(message: string, level: LogLevel = "info"): void {
    const text = this.redact(message);
    appendFileSync(this.file, `${logStamp()} ${level === "info" ? "" : `[${level}] `}${text}\n`);
    this.out(text);
  }

  info(m: string): void {
    this.line(m, "info");
  }
  ok(m: string): void {
    this.line(m, "ok");
  }
  warn(m: string): void {
    this.line(m, "warn");
  }
  error(m: string): void {
    this.line(m, "error");
  }
}
