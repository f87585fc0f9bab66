import type { AirflowSpec } from "../blueprints/types.js";
import type { Settings } from "./config.js";
import { airflowSecretsFromKeyVault } from "./external-secrets.js";
import { podSecurityContext } from "./hardening.js";
import { commonLabels } from "./object.js";

type Resources = { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } };

const res = (reqCpu: string, reqMem: string, limCpu: string, limMem: string): Resources => ({
  requests: { cpu: reqCpu, memory: reqMem },
  limits: { cpu: limCpu, memory: limMem },
});

/** Airflow's UID in the official image; the non-root users of the other images the chart runs. */
const AIRFLOW_UID = 50000;
const NOBODY_UID = 65534;
const BITNAMI_UID = 1001;
const GIT_SYNC_UID = 65533;

/** A full git commit id: the only revision that cannot move under a deployed Airflow. */
const COMMIT = /^[0-9a-f]{40}$/;

/**
 * Values for the apache-airflow/airflow chart as seed 002's deploy step writes them (KubernetesExecutor,
 * every image from the registry, DAGs by git-sync, logs on the Blob-backed claim), plus requests and limits
 * and the restricted security settings Airflow tolerates. Airflow writes under its home directory, so the
 * root filesystem stays writable for its pods (see docs/kubernetes.md).
 */
export function airflowValues(af: AirflowSpec, s: Settings): Record<string, unknown> {
  const acr = s.registryServer();
  const img = (key: string) => {
    const i = af.images[key]!;
    return { repository: `${acr}/${i.repository}`, tag: i.tag, pullPolicy: "IfNotPresent" };
  };
  const dagsRepo = s.config.values.airflow?.dagsRepo ?? af.dags.repo;
  // The seed syncs HEAD, so what runs changes with every push: a revision must be chosen (a commit or a
  // tag; `dagsRev: HEAD` in the values restores the seed's behaviour).
  const dagsRev = s.config.values.airflow?.dagsRev ?? (COMMIT.test(af.dags.rev) ? af.dags.rev : s.need("airflow.dagsRev", undefined));
  const h = s.hardening();
  // The restricted Pod Security Standard for every pod the chart makes (the namespace enforces it).
  const pod = (uid: number) => ({ ...podSecurityContext({ ...h, runAsUser: h.runAsUser ?? uid }), runAsGroup: 0, fsGroup: 0 });
  const container = { allowPrivilegeEscalation: h.allowPrivilegeEscalation ?? false, capabilities: { drop: ["ALL"] } };
  const fromKeyVault = airflowSecretsFromKeyVault({ s });
  return {
    labels: commonLabels("airflow"),
    images: {
      airflow: img("airflow"),
      useDefaultImageForMigration: false,
      migrationsWaitTimeout: 60,
      statsd: img("statsd"),
      pgbouncer: img("pgbouncer"),
      pgbouncerExporter: img("pgbouncerExporter"),
      gitSync: img("gitSync"),
    },
    executor: "KubernetesExecutor",
    env: [{ name: "ENVIRONMENT", value: "dev" }, ...af.podSecrets.volumes.filter((v) => v.pathEnv).map((v) => ({ name: v.pathEnv!, value: v.mountPath }))],
    // The synced Secret in every Airflow pod: variables from secretKeyRef, and the files of a secret volume.
    secret: af.podSecrets.env.map((e) => ({ envName: e.name, secretName: e.secretName, secretKey: e.key })),
    volumes: af.podSecrets.volumes.map((v) => ({
      name: v.name,
      secret: { secretName: v.secretName, ...(v.items ? { items: v.items.map((key) => ({ key, path: key })) } : {}), ...(v.optional ? { optional: true } : {}) },
    })),
    volumeMounts: af.podSecrets.volumes.map((v) => ({ name: v.name, mountPath: v.mountPath, readOnly: true })),
    extraEnv: `- name: AIRFLOW__CORE__DEFAULT_TIMEZONE\n  value: '${af.timezone}'\n`,
    securityContexts: { pod: pod(AIRFLOW_UID), containers: container },
    // Secrets from Key Vault through the ExternalSecrets in the manifests, not the chart's defaults.
    ...(fromKeyVault
      ? { fernetKeySecretName: "airflow-fernet-key", webserverSecretKeySecretName: "airflow-webserver-secret-key", data: { metadataSecretName: "airflow-metadata" } }
      : {}),
    scheduler: { logGroomerSidecar: { enabled: false }, resources: res("500m", "1Gi", "1", "2Gi") },
    triggerer: { logGroomerSidecar: { enabled: false }, resources: res("250m", "512Mi", "500m", "1Gi") },
    workers: { logGroomerSidecar: { enabled: false }, resources: res("250m", "512Mi", "1", "2Gi") },
    webserver: { resources: res("250m", "1Gi", "1", "2Gi") },
    statsd: { resources: res("50m", "64Mi", "100m", "128Mi"), securityContexts: { pod: pod(NOBODY_UID), container } },
    pgbouncer: {
      enabled: true,
      resources: res("50m", "64Mi", "250m", "256Mi"),
      securityContexts: { pod: pod(NOBODY_UID), container },
      metricsExporterSidecar: {
        resources: res("10m", "32Mi", "100m", "64Mi"),
        securityContexts: { container },
        ...(fromKeyVault ? { statsSecretName: "airflow-pgbouncer-stats" } : {}),
      },
      ...(fromKeyVault ? { configSecretName: "airflow-pgbouncer-config" } : {}),
    },
    postgresql: {
      enabled: true,
      image: { registry: acr, repository: af.images.postgresql!.repository, tag: af.images.postgresql!.tag },
      ...(fromKeyVault ? { auth: { existingSecret: "airflow-postgresql" } } : {}),
      primary: {
        podSecurityContext: { enabled: true, fsGroup: BITNAMI_UID, seccompProfile: { type: h.seccompProfile ?? "RuntimeDefault" } },
        containerSecurityContext: { enabled: true, runAsUser: BITNAMI_UID, runAsNonRoot: true, ...container },
        resources: res("250m", "256Mi", "1", "1Gi"),
      },
    },
    dags: {
      gitSync: {
        enabled: true,
        repo: dagsRepo,
        branch: af.dags.branch,
        rev: dagsRev,
        depth: af.dags.depth,
        maxFailures: af.dags.maxFailures,
        subPath: af.dags.subPath,
        resources: res("50m", "64Mi", "100m", "128Mi"),
        // git-sync's own non-root user in its image.
        securityContexts: { container: { ...container, runAsUser: GIT_SYNC_UID } },
      },
    },
    logs: { persistence: { enabled: true, existingClaim: af.logs.claim, storageClassName: af.logs.storageClass } },
  };
}

export function airflowHelmCommand(af: AirflowSpec, namespace: string, file: string): string {
  return `helm upgrade --install ${af.releaseName} ${af.chart} --version ${af.chartVersion} -n ${namespace} -f ${file}`;
}
