import type { AppSpec, Blueprint } from "../blueprints/types.js";
import { UserError } from "../errors.js";
import { agicFiles, agicValuesFileName } from "./agic.js";
import { airflowHelmCommand, airflowValues } from "./airflow-values.js";
import { checkAppNames, Settings, type KubeConfig } from "./config.js";
import { labelsFor, type BuildContext } from "./context.js";
import { accountOf, deploymentFor, jobFor, wantsDeletionCost } from "./deployment.js";
import { airflowAppExternalSecrets, airflowSecretsFromKeyVault, keyVaultSecretStore, logStorageExternalSecret } from "./external-secrets.js";
import { httpScaledObjectFor } from "./http-scaled-object.js";
import { ingressFor } from "./ingress.js";
import { namespaceFor } from "./namespace.js";
import { aksNodeClassFor, NodePoolResource } from "./node-pool.js";
import { inApplyOrder, type KubeObject } from "./object.js";
import { disruptionBudgetFor } from "./pdb.js";
import { podPatcherRbac } from "./rbac.js";
import { bindScaledObject, ScaledObjectResource, triggerAuthenticationsFor } from "./scaled-object.js";
import { workloadIdentityServiceAccount } from "./service-account.js";
import { serviceFor } from "./service.js";
import { blobLogsVolume } from "./storage.js";
import { validateObjects } from "./validate.js";
import { toYamlStream, toYamlWithHeader } from "./yaml.js";

export interface RenderedFile {
  name: string;
  kind: "manifests" | "helm-values";
  /** Cluster the file is for (blue-green); absent when the blueprint has one cluster. */
  cluster?: string;
  text: string;
}

export interface Rendered {
  blueprint: Blueprint;
  /** The cluster `objects` are for (the active one unless chosen). */
  cluster?: string;
  /** Validated objects for that cluster, in apply order. */
  objects: KubeObject[];
  files: RenderedFile[];
  /** Values the user has not set; the output carries `<name>` placeholders for them. */
  missing: string[];
  /** Helm releases to install or switch after the objects are applied, one command per line. */
  helm: string[];
}

/** Builds, validates and prints every object and values file of a blueprint. Nothing is written here. */
export function renderBlueprint(bp: Blueprint, config: KubeConfig, opts: { cluster?: string } = {}): Rendered {
  checkAppNames(
    bp.apps.map((a) => a.name),
    config.values,
    bp.name,
  );
  const s = new Settings(config);
  const clusters = bp.blueGreen ? bp.clusters.map((c) => c.name) : undefined;
  const active = config.values.bluegreen?.activeCluster ?? bp.blueGreen?.activeCluster;
  if (clusters && active && !clusters.includes(active)) {
    throw new UserError(`values: bluegreen.activeCluster "${active}" is not a cluster of ${bp.name}`, `choose one of: ${clusters.join(", ")}`);
  }
  if (opts.cluster && !clusters?.includes(opts.cluster)) {
    throw new UserError(
      clusters ? `blueprint ${bp.name} has no cluster "${opts.cluster}"` : `blueprint ${bp.name} runs on one cluster; --cluster does not apply`,
      clusters ? `choose one of: ${clusters.join(", ")}` : "drop --cluster",
    );
  }

  const files: RenderedFile[] = [];
  const header = (cluster?: string) => [`akspilot manifests ${bp.name}${cluster ? ` --cluster ${cluster}` : ""} (seed ${bp.seed}, ${s.cloud.name})`];
  let objects: KubeObject[] = [];
  const helm: string[] = [];
  const selected = opts.cluster ?? active;
  for (const cluster of clusters ?? [undefined]) {
    const built = inApplyOrder(buildObjects({ bp, s, ...(cluster ? { cluster } : {}) }));
    validateObjects(built);
    const name = cluster ? `${bp.name}-${cluster}.yaml` : `${bp.name}.yaml`;
    files.push({
      name,
      kind: "manifests",
      ...(cluster ? { cluster } : {}),
      text: toYamlStream(
        built.map((o) => o.toJSON()),
        header(cluster),
      ),
    });
    if (cluster === selected) objects = built;
  }

  if (bp.blueGreen) {
    for (const f of agicFiles(bp.blueGreen, clusters!, s)) {
      files.push({ name: agicValuesFileName(f.cluster), kind: "helm-values", cluster: f.cluster, text: toYamlWithHeader(f.values, f.header) });
      if (f.cluster === selected && f.owner) helm.push(f.install);
    }
  }
  if (bp.airflow) {
    const file = `${bp.name}-values.yaml`;
    const command = airflowHelmCommand(bp.airflow, bp.namespace, file);
    helm.push(command);
    files.push({
      name: file,
      kind: "helm-values",
      text: toYamlWithHeader(airflowValues(bp.airflow, s), [`Helm values for seed ${bp.seed}; install after the manifests:`, command]),
    });
  }
  return { blueprint: bp, ...(selected ? { cluster: selected } : {}), objects, files, missing: [...s.missing].sort(), helm };
}

/** Every object of the blueprint for one cluster, unordered and unvalidated. */
export function buildObjects(ctx: BuildContext): KubeObject[] {
  const { bp, s } = ctx;
  const out: KubeObject[] = [];
  const h = s.hardening();
  // Enforce the restricted Pod Security Standard: akspilot's pods and the Airflow chart's (see
  // airflowValues) meet it unless the user weakened the hardening.
  const weakened = h.runAsNonRoot === false || h.allowPrivilegeEscalation === true || h.dropAllCapabilities === false || h.seccompProfile === "Unconfined";
  out.push(namespaceFor(ctx, { enforceRestricted: !weakened }));

  // One identity per service account. An account used only by producers gets the producer's identity,
  // which may only send; any other account the workload identity (consumers, KEDA, Airflow).
  const accounts = new Map<string, "producer" | "workload">();
  for (const app of bp.apps) {
    const name = accountOf(ctx, app);
    if (!name) continue;
    const mine = app.program === "producer" ? "producer" : "workload";
    accounts.set(name, accounts.has(name) && accounts.get(name) !== mine ? "workload" : mine);
  }
  if (bp.airflow) accounts.set(bp.airflow.serviceAccount, "workload");
  for (const [name, identity] of accounts) {
    out.push(workloadIdentityServiceAccount(ctx, name, identity === "producer" ? s.producerClientId() : s.workloadClientId()));
  }

  const scaled = new Set(bp.scaledObject ? [bp.scaledObject.spec.scaleTargetRef.name] : []);
  for (const app of bp.apps) out.push(...appObjects(ctx, app, scaled.has(app.name)));

  if (bp.scaledObject) {
    const bound = bindScaledObject(bp.scaledObject, s);
    // Only akspilot's labels are added: the spec stays the one the local autoscaler obeys.
    const target = bound.spec.scaleTargetRef.name;
    bound.metadata.labels = { ...bound.metadata.labels, ...labelsFor(ctx, {}, target) };
    out.push(...triggerAuthenticationsFor(ctx, bound), new ScaledObjectResource(bound));
  }
  // Karpenter NodePools are cluster objects; a blueprint's clusters share one layout (blue-green
  // clusters are built alike), so the first cluster's pools are the ones applied.
  for (const pool of bp.clusters[0]?.nodePools ?? []) {
    const nodeClass = aksNodeClassFor(ctx, pool);
    if (nodeClass) out.push(nodeClass);
    const labelled = structuredClone(pool);
    labelled.metadata.labels = { ...labelled.metadata.labels, ...labelsFor(ctx) };
    out.push(new NodePoolResource(labelled));
  }
  if (bp.airflow) {
    out.push(keyVaultSecretStore(ctx, bp.airflow), logStorageExternalSecret(ctx, bp.airflow), ...blobLogsVolume(ctx, bp.airflow));
    if (airflowSecretsFromKeyVault(ctx)) out.push(...airflowAppExternalSecrets(ctx, bp.airflow));
  }
  return out;
}

function appObjects(ctx: BuildContext, app: AppSpec, scaledByKeda: boolean): KubeObject[] {
  const out: KubeObject[] = [];
  const kind = ctx.s.app(app.name).kind ?? app.kind ?? "Deployment";
  if (kind === "Job") {
    out.push(jobFor(ctx, app));
  } else {
    const d = deploymentFor(ctx, app);
    // KEDA owns the replica count of its target; re-applying a fixed count would fight it (and the
    // server-side apply would conflict with KEDA's field manager). The API server's default is 1, as in the seed.
    // The HTTP add-on drives its target through a ScaledObject of its own: the same holds.
    if ((scaledByKeda || app.httpScaling) && ctx.s.app(app.name).replicas === undefined) delete d.spec!.replicas;
    out.push(d);
  }
  if (wantsDeletionCost(ctx, app)) {
    const account = accountOf(ctx, app);
    if (!account) throw new UserError(`app ${app.name} has no service account for the pod-deletion-cost option`, "give the app a serviceAccountName");
    out.push(...podPatcherRbac(ctx, app.name, account));
  }
  if (app.service) out.push(serviceFor(ctx, app, app.service));
  if (app.disruptionBudget) out.push(disruptionBudgetFor(ctx, app, app.disruptionBudget));
  if (app.ingress) {
    if (!app.service) throw new UserError(`app ${app.name} has an ingress but no service`, "add a service to the app");
    out.push(ingressFor(ctx, app, app.ingress, app.service));
  }
  if (app.httpScaling) {
    if (!app.service) throw new UserError(`app ${app.name} has an httpScaling rule but no service`, "add a service to the app");
    out.push(httpScaledObjectFor(ctx, app, app.httpScaling, app.service));
  }
  return out;
}
