import { Deployment } from "kubernetes-models/apps/v1";
import { Job } from "kubernetes-models/batch/v1";
import type { IIoK8sApiCoreV1Container as Container } from "kubernetes-models/v1/Container";
import type { IIoK8sApiCoreV1EnvVar as EnvVar } from "kubernetes-models/v1/EnvVar";
import type { IIoK8sApiCoreV1PodSpec as PodSpec } from "kubernetes-models/v1/PodSpec";
import type { IIoK8sApiCoreV1Probe as Probe } from "kubernetes-models/v1/Probe";
import type { IIoK8sApiCoreV1PodTemplateSpec as PodTemplateSpec } from "kubernetes-models/v1/PodTemplateSpec";
import type { AppSpec, HttpProbe } from "../blueprints/types.js";
import { labelsFor, type BuildContext } from "./context.js";
import { containerSecurityContext, podSecurityContext } from "./hardening.js";
import { imageFor, pullPolicyFor } from "./images.js";

/** The env var the consumer reads to start reporting its in-flight work as its pod's deletion cost. */
export const DELETION_COST_ENV = "AKSPILOT_POD_DELETION_COST";

/** Service account the app's pods run as: a values override (e.g. the seed's shared one), else the blueprint's. */
export function accountOf(ctx: BuildContext, app: AppSpec): string | undefined {
  return ctx.s.app(app.name).serviceAccountName ?? app.serviceAccountName;
}

/**
 * Bounds of a run-to-completion app: a few retries, and at most a day, so a Job that cannot finish
 * (storage unreachable, an endless producer) stops instead of holding a node. Overridable per app.
 */
export const JOB_DEFAULTS = { backoffLimit: 3, activeDeadlineSeconds: 86_400, ttlSecondsAfterFinished: 86_400 } as const;

/** Label pair that selects the app's pods: the first of its labels. */
export function selectorOf(app: AppSpec): Record<string, string> {
  const [key, value] = Object.entries(app.labels)[0] ?? ["app", app.name];
  return { [key]: value };
}

export function wantsDeletionCost(ctx: BuildContext, app: AppSpec): boolean {
  return ctx.s.app(app.name).podDeletionCost ?? app.podDeletionCost ?? false;
}

export function deploymentFor(ctx: BuildContext, app: AppSpec): Deployment {
  const replicas = ctx.s.app(app.name).replicas ?? app.replicas;
  return new Deployment({
    metadata: { name: app.name, namespace: ctx.bp.namespace, labels: labelsFor(ctx, app.labels, app.name) },
    spec: {
      replicas,
      selector: { matchLabels: selectorOf(app) },
      template: podTemplateFor(ctx, app),
    },
  });
}

/** A run-to-completion app (the seed's producer, run in the cluster instead of on a workstation). */
export function jobFor(ctx: BuildContext, app: AppSpec): Job {
  const template = podTemplateFor(ctx, app);
  template.spec!.restartPolicy = "OnFailure";
  const o = ctx.s.app(app.name);
  return new Job({
    metadata: { name: app.name, namespace: ctx.bp.namespace, labels: labelsFor(ctx, app.labels, app.name) },
    spec: {
      backoffLimit: o.backoffLimit ?? JOB_DEFAULTS.backoffLimit,
      activeDeadlineSeconds: o.activeDeadlineSeconds ?? JOB_DEFAULTS.activeDeadlineSeconds,
      ttlSecondsAfterFinished: JOB_DEFAULTS.ttlSecondsAfterFinished,
      template,
    },
  });
}

export function podTemplateFor(ctx: BuildContext, app: AppSpec): PodTemplateSpec {
  const h = ctx.s.hardening();
  const deletionCost = wantsDeletionCost(ctx, app);
  const readOnlyRoot = h.readOnlyRootFilesystem ?? true;
  // A read-only root still needs somewhere for temp files.
  const writable = readOnlyRoot ? ["/tmp", ...(app.writablePaths ?? [])] : (app.writablePaths ?? []);
  const volumes = writable.map((_, i) => ({ name: volumeName(i), emptyDir: { sizeLimit: "64Mi" } }));
  const volumeMounts = writable.map((path, i) => ({ name: volumeName(i), mountPath: path }));

  const image = imageFor(app, ctx.s);
  const container: Container = {
    name: app.container,
    image,
    imagePullPolicy: pullPolicyFor(image),
    env: envFor(ctx, app, deletionCost),
    resources: resourcesFor(ctx, app),
    securityContext: containerSecurityContext(h),
  };
  if (app.ports.length) container.ports = app.ports.map((p) => ({ name: p.name, containerPort: p.containerPort, protocol: "TCP" }));
  if (app.liveness) container.livenessProbe = probeFor(app, app.liveness);
  if (app.readiness) container.readinessProbe = probeFor(app, app.readiness);
  if (app.startup) container.startupProbe = probeFor(app, app.startup);
  if (app.preStopSleepSeconds) container.lifecycle = { preStop: { sleep: { seconds: app.preStopSleepSeconds } } };
  if (volumeMounts.length) container.volumeMounts = volumeMounts;

  const spec: PodSpec = {
    automountServiceAccountToken: deletionCost || (h.automountServiceAccountToken ?? false),
    securityContext: podSecurityContext(h),
    terminationGracePeriodSeconds: app.terminationGracePeriodSeconds,
    containers: [container],
  };
  const account = accountOf(ctx, app);
  if (account) spec.serviceAccountName = account;
  if (app.tolerations.length) spec.tolerations = app.tolerations.map((t) => ({ ...t }));
  if (app.topologySpread?.length) {
    spec.topologySpreadConstraints = app.topologySpread.map((t) => ({ ...t, labelSelector: { matchLabels: selectorOf(app) } }));
  }
  if (volumes.length) spec.volumes = volumes;
  // The selector stays the app's first label; the recommended labels go on the pods too.
  return { metadata: { labels: labelsFor(ctx, app.labels, app.name) }, spec };
}

function volumeName(i: number): string {
  return i === 0 ? "tmp" : `writable-${i}`;
}

function envFor(ctx: BuildContext, app: AppSpec, deletionCost: boolean): EnvVar[] {
  const env: EnvVar[] = Object.entries(app.env).map(([name, value]) => ({
    name,
    // The storage account is per installation; the blueprint only knows it is needed.
    value: name === "AZURE_STORAGE_ACCOUNT_NAME" ? ctx.s.storageAccount() : value,
  }));
  if (deletionCost) {
    env.push(
      { name: DELETION_COST_ENV, value: "true" },
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
    );
  }
  return env;
}

function resourcesFor(ctx: BuildContext, app: AppSpec): { requests: Record<string, string>; limits: Record<string, string> } {
  const o = ctx.s.app(app.name).resources;
  return {
    requests: { ...app.resources.requests, ...o?.requests },
    limits: { ...app.resources.limits, ...o?.limits },
  };
}

function probeFor(app: AppSpec, p: HttpProbe): Probe {
  // Refer to the port by name when the app names it, so a port change cannot leave the probe behind.
  const named = app.ports.find((x) => x.containerPort === p.port)?.name;
  const probe: Probe = {
    httpGet: { path: p.path, port: named ?? p.port, scheme: "HTTP" },
    initialDelaySeconds: p.initialDelaySeconds,
    periodSeconds: p.periodSeconds,
    timeoutSeconds: p.timeoutSeconds,
    failureThreshold: p.failureThreshold,
  };
  if (p.successThreshold !== undefined) probe.successThreshold = p.successThreshold;
  return probe;
}
