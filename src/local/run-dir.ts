import { mkdirSync } from "node:fs";
import { join } from "node:path";

export interface RunDir {
  /** This run's own log folder. */
  logDir: string;
  release(): void;
}

/** Claims `.akspilot/` for one run: its log folder. */
export function prepareRunDir(cwd: string): RunDir {
  const logDir = join(cwd, ".akspilot", "logs");
  mkdirSync(logDir, { recursive: true, mode: 0o700 });
  return { logDir, release: () => undefined };
}
