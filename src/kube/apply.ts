import { join } from "node:path";
import { getBlueprint } from "../blueprints/index.js";
import { UserError } from "../errors.js";
import type { CloudName } from "./cloud.js";
import { resolveConfig } from "./config.js";
import { requiredCrds } from "./crds.js";
import { firstLine, KubectlNotFound, systemKubectl, type Kubectl } from "./kubectl.js";
import { describeRef, groupOf, refOf, type KubeObject, type ObjectRef } from "./object.js";
import { readRecord, recordPath, removeRecord, sameObject, writeRecord, type ApplyRecord } from "./record.js";
import { renderBlueprint } from "./render.js";
import { loadValuesFile } from "./values.js";

export interface ApplyToAksOptions {
  blueprint: string;
  /** kubeconfig context; the current context when omitted. */
  context?: string;
  dryRun: boolean;
  /** Remove what a previous apply created instead of applying. */
  destroy?: boolean;
  /** Progress lines for the terminal. */
  out: (line: string) => void;
  /** YAML values file (registry, tag, storage account, identities). */
  valuesFile?: string;
  cloud?: CloudName;
  /** For blueprints spanning clusters (bluegreen): which cluster this context is. Default: the active one. */
  cluster?: string;
  /** Where apply records live (default `.akspilot/kube` in the working directory). */
  stateDir?: string;
  /** Seconds to wait for each Deployment's rollout (default 300). */
  rolloutTimeoutSeconds?: number;
  /** kubectl runner (default: kubectl on PATH). */
  kubectl?: Kubectl;
}

export type Change = "created" | "configured" | "unchanged";

/** `akspilot deploy|destroy <blueprint> --target aks`. */
export async function applyToAks(opts: ApplyToAksOptions): Promise<void> {
  const bp = getBlueprint(opts.blueprint);
  const values = opts.valuesFile ? loadValuesFile(opts.valuesFile) : {};
  const rendered = renderBlueprint(bp, resolveConfig(values, opts.cloud), opts.cluster ? { cluster: opts.cluster } : {});
  const stateDir = opts.stateDir ?? join(process.cwd(), ".akspilot", "kube");
  const path = recordPath(stateDir, bp.name, rendered.cluster);
  const kubectl = opts.kubectl ?? systemKubectl(opts.context);
  const where = rendered.cluster ? ` (cluster ${rendered.cluster})` : "";

  if (opts.destroy) return destroy({ ...opts, kubectl, path, where });

  const crds = requiredCrds(rendered.objects);
  if (opts.dryRun) {
    opts.out(`dry run: would apply ${bp.name}${where} with server-side apply, in this order:`);
    for (const o of rendered.objects) opts.out(`  ${describeRef(refOf(o))}`);
    if (crds.length) opts.out(`after checking these CRDs exist: ${crds.map((c) => c.name).join(", ")}`);
    for (const h of rendered.helm) opts.out(`then: ${h}`);
    if (rendered.missing.length) opts.out(`values still missing (deploy would refuse): ${rendered.missing.join(", ")}`);
    return;
  }
  if (rendered.missing.length) {
    throw new UserError(`values missing for ${bp.name}: ${rendered.missing.join(", ")}`, "set them in a YAML file and pass --values FILE");
  }

  await checkCluster(kubectl, opts.context);
  await checkCrds(kubectl, crds);

  const previous = readRecord(path);
  const record: ApplyRecord = { blueprint: bp.name, ...(rendered.cluster ? { cluster: rendered.cluster } : {}), ...(opts.context ? { context: opts.context } : {}), objects: [] };
  const counts: Record<Change, number> = { created: 0, configured: 0, unchanged: 0 };
  opts.out(`applying ${bp.name}${where} (server-side apply, field manager akspilot):`);
  for (const obj of rendered.objects) {
    const ref = refOf(obj);
    const change = await applyObject(kubectl, obj);
    counts[change]++;
    const before = previous?.objects.find((p) => sameObject(p, ref));
    // Written after every object, so a failure half-way still lets destroy clean up.
    record.objects.push({ ...ref, created: change === "created" || (before?.created ?? false) });
    writeRecord(path, record);
    opts.out(`  ${change.padEnd(10)} ${describeRef(ref)}`);
  }
  opts.out(`${counts.created} created, ${counts.configured} configured, ${counts.unchanged} unchanged; recorded in ${path}`);

  const timeout = opts.rolloutTimeoutSeconds ?? 300;
  for (const obj of rendered.objects.filter((o) => o.kind === "Deployment")) {
    const ref = refOf(obj);
    opts.out(`waiting for ${describeRef(ref)} to roll out…`);
    const r = await kubectl(["rollout", "status", `deployment.apps/${ref.name}`, "-n", ref.namespace ?? "default", `--timeout=${timeout}s`]);
    if (r.code !== 0) {
      throw new UserError(
        `${describeRef(ref)} did not roll out within ${timeout}s: ${firstLine(r.stderr || r.stdout)}`,
        `inspect it with kubectl describe deployment ${ref.name} -n ${ref.namespace}`,
      );
    }
  }
  for (const h of rendered.helm) opts.out(`next: ${h}`);
}

/** Creates or updates one object; tells which by comparing resourceVersion before and after. */
async function applyObject(kubectl: Kubectl, obj: KubeObject): Promise<Change> {
  const ref = refOf(obj);
  const before = await resourceVersion(kubectl, ref);
  const args = ["apply", "--server-side", "--field-manager=akspilot", "-f", "-", "-o", "jsonpath={.metadata.resourceVersion}"];
  // Node auto-provisioning creates its own `default` NodePool/AKSNodeClass; taking their fields over is the point of applying them.
  if (obj.kind === "NodePool" || obj.kind === "AKSNodeClass") args.splice(2, 0, "--force-conflicts");
  const r = await kubectl(args, JSON.stringify(obj.toJSON()));
  if (r.code !== 0) throw new UserError(`applying ${describeRef(ref)} failed: ${firstLine(r.stderr || r.stdout)}`, "fix the cause and run deploy again (it is safe to repeat)");
  const after = r.stdout.trim();
  if (before === undefined) return "created";
  return after === before ? "unchanged" : "configured";
}

export function resourceName(ref: ObjectRef): string {
  const group = groupOf(ref.apiVersion);
  return `${ref.kind.toLowerCase()}${group ? `.${group}` : ""}/${ref.name}`;
}

function nsArgs(ref: ObjectRef): string[] {
  return ref.namespace ? ["-n", ref.namespace] : [];
}

async function resourceVersion(kubectl: Kubectl, ref: ObjectRef): Promise<string | undefined> {
  const r = await kubectl(["get", resourceName(ref), ...nsArgs(ref), "--ignore-not-found", "-o", "jsonpath={.metadata.resourceVersion}"]);
  if (r.code !== 0) throw new UserError(`reading ${describeRef(ref)} failed: ${firstLine(r.stderr)}`, "check your access to the cluster");
  return r.stdout.trim() || undefined;
}

/** Fails in one line when kubectl is missing or no cluster answers. */
export async function checkCluster(kubectl: Kubectl, context?: string): Promise<void> {
  let r;
  try {
    r = await kubectl(["--request-timeout=10s", "get", "--raw", "/version"]);
  } catch (e) {
    if (e instanceof KubectlNotFound)
      throw new UserError("kubectl is not installed (not found on PATH)", "install it (az aks install-cli) or use `akspilot manifests` and apply the YAML yourself");
    throw e;
  }
  if (r.code !== 0) {
    throw new UserError(
      `no reachable Kubernetes cluster${context ? ` for context "${context}"` : " in the current kubeconfig context"}: ${firstLine(r.stderr || r.stdout)}`,
      "fetch credentials with az aks get-credentials -g <rg> -n <cluster> (or pass --context NAME)",
    );
  }
}

async function checkCrds(kubectl: Kubectl, crds: ReturnType<typeof requiredCrds>): Promise<void> {
  for (const crd of crds) {
    const r = await kubectl(["get", "customresourcedefinitions.apiextensions.k8s.io", crd.name, "--ignore-not-found", "-o", "name"]);
    if (r.code !== 0) throw new UserError(`checking CRD ${crd.name} failed: ${firstLine(r.stderr)}`, "check your access to the cluster");
    if (!r.stdout.trim()) throw new UserError(`${crd.addOn} is not installed on this cluster (CRD ${crd.name} is missing)`, crd.fix);
  }
}

async function destroy(o: ApplyToAksOptions & { kubectl: Kubectl; path: string; where: string }): Promise<void> {
  const record = readRecord(o.path);
  if (!record || record.objects.length === 0) {
    throw new UserError(`nothing to destroy: no record of applying ${o.blueprint}${o.where} (${o.path})`, "deploy it first, or delete its objects with kubectl");
  }
  const objects = [...record.objects].reverse();
  if (o.dryRun) {
    o.out(`dry run: would delete ${o.blueprint}${o.where}, in this order:`);
    for (const obj of objects) o.out(`  ${obj.created ? "delete" : "keep  "} ${describeRef(obj)}`);
    return;
  }
  await checkCluster(o.kubectl, o.context);
  o.out(`deleting what akspilot applied for ${o.blueprint}${o.where}:`);
  for (const obj of objects) {
    if (!obj.created) {
      o.out(`  kept       ${describeRef(obj)} (it existed before akspilot applied it)`);
      continue;
    }
    const r = await o.kubectl(["delete", resourceName(obj), ...nsArgs(obj), "--ignore-not-found", "--wait=false"]);
    if (r.code !== 0) throw new UserError(`deleting ${describeRef(obj)} failed: ${firstLine(r.stderr)}`, "fix the cause and run destroy again");
    o.out(`  deleted    ${describeRef(obj)}`);
  }
  removeRecord(o.path);
  o.out(`done; removed ${o.path}`);
}
