import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { UserError } from "../../errors.js";
import { checkPrivateDir, writeSecretFile } from "../../util/secure-fs.js";
import type { Outputs } from "../refs.js";

/** Subscription segment of local resource ids: they keep Azure's shape so scopes compare the same way. */
export const LOCAL_SUBSCRIPTION = "00000000-0000-0000-0000-00000000cafe";

export interface LedgerEntry {
  kind: string;
  name: string;
  props: Record<string, unknown>;
  outputs: Outputs;
  createdAt: string;
}

interface LedgerFile {
  format: "akspilot.local-resources/v1";
  /** Keyed by the resource's Azure-shaped id. */
  resources: Record<string, LedgerEntry>;
}

export function localDir(root: string): string {
  return join(root, ".akspilot", "local");
}

export function ledgerPath(root: string): string {
  return join(localDir(root), "resources.json");
}

/**
 * What exists on the local target besides Azurite's queues, tables and containers: resource groups,
 * registries and their images, identities, federated credentials, role assignments, and the records of
 * cloud-only resources (clusters, networks) the local runtime simulates. Shared by every blueprint.
 */
export class Ledger {
  private constructor(
    private readonly path: string,
    private data: LedgerFile,
  ) {}

  static open(root: string): Ledger {
    const path = ledgerPath(root);
    if (!existsSync(path)) return new Ledger(path, { format: "akspilot.local-resources/v1", resources: {} });
    // The ledger decides who may do what on the local target (role assignments): a file others could
    // replace would let them grant themselves roles.
    checkPrivateDir(dirname(path));
    let data: LedgerFile;
    try {
      data = JSON.parse(readFileSync(path, "utf8")) as LedgerFile;
    } catch (e) {
      throw new UserError(`local resource file ${path} is not valid JSON (${(e as Error).message})`, "move it aside and re-deploy with --target local");
    }
    if (data.format !== "akspilot.local-resources/v1" || typeof data.resources !== "object" || data.resources === null) {
      throw new UserError(`${path} was not written by akspilot`, "move it aside and re-deploy with --target local");
    }
    return new Ledger(path, data);
  }

  get(id: string): LedgerEntry | undefined {
    return this.data.resources[id.toLowerCase()];
  }

  put(id: string, entry: Omit<LedgerEntry, "createdAt">): LedgerEntry {
    const key = id.toLowerCase();
    const full = { ...entry, createdAt: this.data.resources[key]?.createdAt ?? new Date().toISOString() };
    this.data.resources[key] = full;
    this.save();
    return full;
  }

  delete(id: string): boolean {
    const key = id.toLowerCase();
    if (!this.data.resources[key]) return false;
    delete this.data.resources[key];
    this.save();
    return true;
  }

  /** Entries whose id is below `prefix` (the contents of a resource group or an account). */
  under(prefix: string): Array<[string, LedgerEntry]> {
    const p = prefix.toLowerCase() + "/";
    return Object.entries(this.data.resources).filter(([id]) => id.startsWith(p));
  }

  all(): Array<[string, LedgerEntry]> {
    return Object.entries(this.data.resources);
  }

  private save(): void {
    writeSecretFile(this.path, JSON.stringify(this.data, null, 2) + "\n");
  }
}
