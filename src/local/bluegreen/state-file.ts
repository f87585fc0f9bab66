import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeSecretFile } from "../../util/secure-fs.js";
import type { BlueGreenState } from "../../upgrade/machine.js";

/** `.akspilot/bluegreen.json`: the upgrade's state, written (atomically) after every transition. */
export function bluegreenStatePath(cwd: string): string {
  return join(cwd, ".akspilot", "bluegreen.json");
}

export function readBlueGreenState(cwd: string): BlueGreenState | undefined {
  try {
    const s = JSON.parse(readFileSync(bluegreenStatePath(cwd), "utf8")) as BlueGreenState;
    return s && s.version === 1 && typeof s.stage === "string" && s.blue ? s : undefined;
  } catch {
    return undefined;
  }
}

export function writeBlueGreenState(cwd: string, s: BlueGreenState): void {
  writeSecretFile(bluegreenStatePath(cwd), JSON.stringify(s, null, 2) + "\n");
}

export function removeBlueGreenState(cwd: string): void {
  rmSync(bluegreenStatePath(cwd), { force: true });
}
