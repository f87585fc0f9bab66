import { existsSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname } from "node:path";
import { UserError } from "../../errors.js";
import { checkPrivateDir, writeSecretFile } from "../../util/secure-fs.js";

/** Key Vault's error shape: an HTTP status and a service error code, never the secret value. */
export class VaultError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "VaultError";
  }
}

export interface SecretVersion {
  version: string;
  value: string;
  contentType?: string;
  created: string;
  enabled: boolean;
  tags: Record<string, string>;
}

interface SecretEntry {
  versions: SecretVersion[];
  /** Set while soft-deleted. */
  deleted?: { deletedDate: string; scheduledPurgeDate: string; recoveryId: string };
}

interface VaultFile {
  format: "akspilot.local-vault/v1";
  name: string;
  softDeleteRetentionInDays: number;
  secrets: Record<string, SecretEntry>;
}

/** What `list` and `get` return about a secret, with the value only from `getSecret`. */
export interface SecretProperties {
  name: string;
  version: string;
  enabled: boolean;
  createdOn: string;
  contentType?: string;
  tags: Record<string, string>;
}

const NAME = /^[0-9a-zA-Z-]{1,127}$/;

/**
 * A secret vault on this machine with Key Vault semantics: every set adds a version, get returns the latest
 * (or a named version), list never returns values, delete is a soft delete that blocks reuse of the name until
 * the secret is recovered or purged. At rest in one JSON file with mode 0600; values never reach a log.
 */
export class LocalSecretVault {
  private constructor(
    private readonly path: string,
    private data: VaultFile,
  ) {}

  static exists(path: string): boolean {
    return existsSync(path);
  }

  static open(path: string, create?: { name: string; softDeleteRetentionInDays: number }): LocalSecretVault {
    if (!existsSync(path)) {
      if (!create) throw new VaultError(404, "VaultNotFound", `the local vault at ${path} does not exist`);
      const v = new LocalSecretVault(path, { format: "akspilot.local-vault/v1", name: create.name, softDeleteRetentionInDays: create.softDeleteRetentionInDays, secrets: {} });
      v.save();
      return v;
    }
    checkPrivateDir(dirname(path));
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new UserError(`local vault ${path} is readable by other users (mode ${mode.toString(8)})`, `run \`chmod 600 ${path}\``);
    }
    let data: VaultFile;
    try {
      data = JSON.parse(readFileSync(path, "utf8")) as VaultFile;
    } catch {
      // The parse error could quote part of the file, so it is not repeated here.
      throw new UserError(`local vault ${path} is not valid JSON`, "restore it from a backup or delete it and re-deploy");
    }
    if (data.format !== "akspilot.local-vault/v1" || typeof data.secrets !== "object") {
      throw new UserError(`${path} is not an akspilot local vault`, "move it aside and re-deploy");
    }
    return new LocalSecretVault(path, data);
  }

  get name(): string {
    return this.data.name;
  }

  get retentionDays(): number {
    return this.data.softDeleteRetentionInDays;
  }

  setSecret(name: string, value: string, opts: { contentType?: string; tags?: Record<string, string> } = {}): SecretProperties {
    checkName(name);
    const entry = this.data.secrets[name];
    if (entry?.deleted) {
      throw new VaultError(
        409,
        "Conflict",
        `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
      );
    }
    const version: SecretVersion = {
      version: randomBytes(16).toString("hex"),
      value,
      contentType: opts.contentType,
      created: new Date().toISOString(),
      enabled: true,
      tags: opts.tags ?? {},
    };
    (this.data.secrets[name] ??= { versions: [] }).versions.push(version);
    this.save();
    return props(name, version);
  }

  /** The value of the latest version, or of `version`. */
  getSecret(name: string, version?: string): { value: string; properties: SecretProperties } {
    const entry = this.live(name);
    const v = version ? entry.versions.find((x) => x.version === version) : entry.versions[entry.versions.length - 1];
    if (!v) throw new VaultError(404, "SecretNotFound", `A secret with (name/id) ${name}/${version} was not found in this key vault.`);
    if (!v.enabled) throw new VaultError(403, "Forbidden", `Operation get is not allowed on a disabled secret.`);
    return { value: v.value, properties: props(name, v) };
  }

  /** Properties of the latest version of every live secret; never values. */
  listSecrets(): SecretProperties[] {
    return Object.entries(this.data.secrets)
      .filter(([, e]) => !e.deleted && e.versions.length > 0)
      .map(([n, e]) => props(n, e.versions[e.versions.length - 1]!));
  }

  listVersions(name: string): SecretProperties[] {
    return this.live(name).versions.map((v) => props(name, v));
  }

  deleteSecret(name: string): { recoveryId: string; scheduledPurgeDate: string } {
    const entry = this.live(name);
    const now = new Date();
    const purge = new Date(now.getTime() + this.data.softDeleteRetentionInDays * 86_400_000);
    entry.deleted = { deletedDate: now.toISOString(), scheduledPurgeDate: purge.toISOString(), recoveryId: `deletedsecrets/${name}` };
    this.save();
    return { recoveryId: entry.deleted.recoveryId, scheduledPurgeDate: entry.deleted.scheduledPurgeDate };
  }

  listDeletedSecrets(): Array<{ name: string; deletedDate: string; scheduledPurgeDate: string }> {
    return Object.entries(this.data.secrets)
      .filter(([, e]) => e.deleted)
      .map(([name, e]) => ({ name, deletedDate: e.deleted!.deletedDate, scheduledPurgeDate: e.deleted!.scheduledPurgeDate }));
  }

  recoverDeletedSecret(name: string): SecretProperties {
    const entry = this.data.secrets[name];
    if (!entry?.deleted) throw new VaultError(404, "SecretNotFound", `Deleted Secret not found: ${name}`);
    delete entry.deleted;
    this.save();
    return props(name, entry.versions[entry.versions.length - 1]!);
  }

  purgeDeletedSecret(name: string): void {
    const entry = this.data.secrets[name];
    if (!entry?.deleted) throw new VaultError(404, "SecretNotFound", `Deleted Secret not found: ${name}`);
    delete this.data.secrets[name];
    this.save();
  }

  /** Removes the vault file itself. */
  destroy(): void {
    if (existsSync(this.path)) unlinkSync(this.path);
  }

  private live(name: string): SecretEntry {
    checkName(name);
    const entry = this.data.secrets[name];
    if (!entry || entry.versions.length === 0) throw new VaultError(404, "SecretNotFound", `A secret with (name/id) ${name} was not found in this key vault.`);
    if (entry.deleted) throw new VaultError(404, "SecretNotFound", `Secret ${name} is currently being deleted or is deleted.`);
    return entry;
  }

  private save(): void {
    writeSecretFile(this.path, JSON.stringify(this.data, null, 2) + "\n");
  }
}

function props(name: string, v: SecretVersion): SecretProperties {
  return { name, version: v.version, enabled: v.enabled, createdOn: v.created, contentType: v.contentType, tags: { ...v.tags } };
}

function checkName(name: string): void {
  if (!NAME.test(name)) throw new VaultError(400, "BadParameter", `The request URI contains an invalid name: ${name}`);
}
