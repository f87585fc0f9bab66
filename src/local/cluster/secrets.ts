import { chmodSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SecretEnvRef, SecretVolumeRef } from "../../blueprints/types.js";

export type { SecretEnvRef, SecretVolumeRef };

/** The Secrets of a namespace as the API server holds them: name → data, or undefined when there is none. */
export type SecretLookup = (name: string) => Record<string, string> | undefined;

/** Why the kubelet does not start the container yet, as `kubectl describe pod` shows it. */
export interface Waiting {
  /** The container's waiting reason. */
  reason: "ContainerCreating" | "CreateContainerConfigError";
  /** The container's waiting message (CreateContainerConfigError) or the event's (FailedMount). */
  message: string;
  /** The event the kubelet records for it. */
  event: { reason: "FailedMount" | "Failed"; message: string };
}

/**
 * The data a secret volume shows, or the kubelet's refusal: a missing Secret or key fails the mount
 * (`MountVolume.SetUp failed for volume …`), unless the volume is optional.
 */
export function volumeData(namespace: string, v: SecretVolumeRef, lookup: SecretLookup): Record<string, string> | Waiting {
  const data = lookup(v.secretName);
  const fail = (why: string): Waiting => ({
    reason: "ContainerCreating",
    message: `MountVolume.SetUp failed for volume "${v.name}" : ${why}`,
    event: { reason: "FailedMount", message: `MountVolume.SetUp failed for volume "${v.name}" : ${why}` },
  });
  if (!data) return v.optional ? {} : fail(`secret "${v.secretName}" not found`);
  if (!v.items) return { ...data };
  const out: Record<string, string> = {};
  for (const k of v.items) {
    if (data[k] !== undefined) out[k] = data[k];
    else if (!v.optional) return fail(`couldn't find key ${k} in Secret ${namespace}/${v.secretName}`);
  }
  return out;
}

/**
 * The container's environment from its secretKeyRefs, resolved once when the container is created (a later
 * change of the Secret does not reach a running container), or CreateContainerConfigError as the kubelet says it.
 */
export function secretEnv(namespace: string, refs: SecretEnvRef[], lookup: SecretLookup): Record<string, string> | Waiting {
  const env: Record<string, string> = {};
  const fail = (message: string): Waiting => ({ reason: "CreateContainerConfigError", message, event: { reason: "Failed", message: `Error: ${message}` } });
  for (const r of refs) {
    const data = lookup(r.secretName);
    if (!data) {
      if (r.optional) continue;
      return fail(`secret "${r.secretName}" not found`);
    }
    const v = data[r.key];
    if (v === undefined) {
      if (r.optional) continue;
      return fail(`couldn't find key ${r.key} in Secret ${namespace}/${r.secretName}`);
    }
    env[r.name] = v;
  }
  return env;
}

export function isWaiting<T extends object>(x: T | Waiting): x is Waiting {
  return typeof (x as Waiting).reason === "string" && typeof (x as Waiting).event === "object";
}

/**
 * What the kubelet does before a container with these references starts: volumes are mounted first (a
 * missing Secret keeps the pod in ContainerCreating with FailedMount events), then the container's config is
 * made (a missing Secret or key is CreateContainerConfigError). Both are retried until the Secret exists.
 */
export function containerConfig(
  namespace: string,
  refs: { env: SecretEnvRef[]; volumes: SecretVolumeRef[] },
  lookup: SecretLookup,
): { env: Record<string, string>; volumes: Map<string, Record<string, string>> } | Waiting {
  const volumes = new Map<string, Record<string, string>>();
  for (const v of refs.volumes) {
    const d = volumeData(namespace, v, lookup);
    if (isWaiting(d)) return d;
    volumes.set(v.name, d);
  }
  const env = secretEnv(namespace, refs.env, lookup);
  return isWaiting(env) ? env : { env, volumes };
}

/**
 * A secret volume on the node, written as the kubelet's atomic writer does: the files live in a timestamped
 * directory, `..data` is a symlink to it swapped in one rename, and each key is a symlink through `..data`,
 * so a reader sees the old set or the new one, never half of each. Owner-only: it holds secret values.
 */
export class SecretVolumeDir {
  private seq = 0;
  private current?: string;

  constructor(readonly dir: string) {}

  /** Writes `data` if it differs from what the volume shows; true when it changed. */
  write(data: Record<string, string>): boolean {
    const body = JSON.stringify(Object.entries(data).sort(([a], [b]) => a.localeCompare(b)));
    if (body === this.current) return false;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    const stamp = `..${new Date().toISOString().replace(/[:.]/g, "_")}.${process.pid}.${this.seq++}`;
    const next = join(this.dir, stamp);
    mkdirSync(next, { mode: 0o700 });
    for (const [k, v] of Object.entries(data)) writeFileSync(join(next, k), v, { mode: 0o600 });
    const old = this.readData();
    const tmp = join(this.dir, "..data_tmp");
    rmSync(tmp, { force: true });
    symlinkSync(stamp, tmp);
    renameSync(tmp, join(this.dir, "..data"));
    // Each key a symlink through ..data; keys that are gone go too.
    const keys = new Set(Object.keys(data));
    for (const e of readdirSync(this.dir)) {
      if (e.startsWith("..")) continue;
      if (!keys.has(e)) rmSync(join(this.dir, e), { force: true });
    }
    for (const k of keys) {
      try {
        readlinkSync(join(this.dir, k));
      } catch {
        symlinkSync(join("..data", k), join(this.dir, k));
      }
    }
    if (old) rmSync(join(this.dir, old), { recursive: true, force: true });
    this.current = body;
    return true;
  }

  private readData(): string | undefined {
    try {
      return readlinkSync(join(this.dir, "..data"));
    } catch {
      return undefined;
    }
  }

  /** The pod is gone: so is its volume (the secret values with it). */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
    this.current = undefined;
  }
}

export interface MountedSecretVolume {
  pod: string;
  ref: SecretVolumeRef;
  dir: SecretVolumeDir;
  /** When the kubelet last looked (ms, the injected clock) and last changed the files. */
  syncedAt?: number;
  updatedAt?: number;
}

/**
 * The kubelet's periodic sync of mounted secret volumes: every `periodMs` (on AKS the kubelet's sync
 * period plus its Secret cache's TTL, up to about a minute) each volume is rewritten from the Secret's
 * current data if it changed. A Secret that is gone leaves the files as they were (as the kubelet does).
 * Time is injected: `tick(now)` does what is due.
 */
export class SecretVolumeSync {
  private readonly mounted: MountedSecretVolume[] = [];
  private next = 0;

  constructor(
    private readonly namespace: string,
    private readonly lookup: SecretLookup,
    private readonly periodMs: number,
    private readonly onUpdate?: (v: MountedSecretVolume) => void,
  ) {}

  /** Mounts a volume for a pod with the data the kubelet resolved when the pod started. */
  mount(pod: string, ref: SecretVolumeRef, dir: string, data: Record<string, string>, now: number): MountedSecretVolume {
    const v: MountedSecretVolume = { pod, ref, dir: new SecretVolumeDir(dir), syncedAt: now, updatedAt: now };
    v.dir.write(data);
    this.mounted.push(v);
    if (this.next === 0) this.next = now + this.periodMs;
    return v;
  }

  unmount(pod: string): void {
    for (let i = this.mounted.length - 1; i >= 0; i--) {
      const v = this.mounted[i]!;
      if (v.pod !== pod) continue;
      v.dir.remove();
      this.mounted.splice(i, 1);
    }
  }

  get volumes(): readonly MountedSecretVolume[] {
    return this.mounted;
  }

  /** One sync if due; true when a volume's files changed. */
  tick(now: number): boolean {
    if (this.mounted.length === 0 || now < this.next) return false;
    this.next = now + this.periodMs;
    let changed = false;
    for (const v of this.mounted) {
      v.syncedAt = now;
      const d = volumeData(this.namespace, v.ref, this.lookup);
      if (isWaiting(d)) continue;
      if (v.dir.write(d)) {
        v.updatedAt = now;
        changed = true;
        this.onUpdate?.(v);
      }
    }
    return changed;
  }

  stop(): void {
    for (const v of this.mounted.splice(0)) v.dir.remove();
  }
}
