import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { UserError, errorMessage } from "../errors.js";
import type { ObjectRef } from "./object.js";
import { writeSecretFile } from "../util/secure-fs.js";

/** One object akspilot applied; `created` is false when it existed before, so destroy leaves it alone. */
export interface AppliedObject extends ObjectRef {
  created: boolean;
}

/** What `deploy --target aks` applied to a cluster, kept so `destroy` removes exactly that. */
export interface ApplyRecord {
  blueprint: string;
  cluster?: string;
  context?: string;
  /** In apply order. */
  objects: AppliedObject[];
}

export function recordPath(stateDir: string, blueprint: string, cluster?: string): string {
  return join(stateDir, `${blueprint}${cluster ? `.${cluster}` : ""}.json`);
}

export function readRecord(path: string): ApplyRecord | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as ApplyRecord;
  } catch (e) {
    throw new UserError(`${path} is not valid JSON: ${errorMessage(e)}`, "delete the file and remove the objects with kubectl");
  }
}

export function writeRecord(path: string, record: ApplyRecord): void {
  // Not secret, but it decides what `destroy` deletes: kept like the other state under `.akspilot/`.
  writeSecretFile(path, `${JSON.stringify(record, null, 2)}\n`);
}

export function removeRecord(path: string): void {
  rmSync(path, { force: true });
}

export function sameObject(a: ObjectRef, b: ObjectRef): boolean {
  return a.apiVersion.split("/")[0] === b.apiVersion.split("/")[0] && a.kind === b.kind && a.name === b.name && (a.namespace ?? "") === (b.namespace ?? "");
}
