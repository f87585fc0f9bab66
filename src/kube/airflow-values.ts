import type { AirflowSpec } from "../blueprints/types.js";
import type { Settings } from "./config.js";
import { podSecurityContext } from "./hardening.js";

type Resources = { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } };

const res = (reqCpu: string, reqMem: string, limCpu: string, limMem: string): Resources => ({
  requests: { cpu: reqCpu, memory: reqMem },
  limits: { cpu: limCpu, memory: limMem },
});

/** Airflow's UID in the official image. */
const AIRFLOW_UID = 50000;

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
  const h = s.hardening();
  return {
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
    env: [{ name: "ENVIRONMENT", value: "dev" }],
    extraEnv: `- name: AIRFLOW__CORE__DEFAULT_TIMEZONE\n  value: '${af.timezone}'\n`,
    securityContexts: {
      pod: { ...podSecurityContext({ ...h, runAsUser: h.runAsUser ?? AIRFLOW_UID }), runAsGroup: 0, fsGroup: 0 },
      containers: { allowPrivilegeEscalation: h.allowPrivilegeEscalation ?? false, capabilities: { drop: ["ALL"] } },
    },
    scheduler: { logGroomerSidecar: { enabled: false }, resources: res("500m", "1Gi", "1", "2Gi") },
    triggerer: { logGroomerSidecar: { enabled: false }, resources: res("250m", "512Mi", "500m", "1Gi") },
    workers: { logGroomerSidecar: { enabled: false }, resources: res("250m", "512Mi", "1", "2Gi") },
    webserver: { resources: res("250m", "1Gi", "1", "2Gi") },
    statsd: { resources: res("50m", "64Mi", "100m", "128Mi") },
    pgbouncer: { enabled: true, resources: res("50m", "64Mi", "250m", "256Mi") },
    postgresql: {
      enabled: true,
      image: { registry: acr, repository: af.images.postgresql!.repository, tag: af.images.postgresql!.tag },
    },
    dags: {
      gitSync: {
        enabled: true,
        repo: dagsRepo,
        branch: af.dags.branch,
        rev: af.dags.rev,
        depth: af.dags.depth,
        maxFailures: af.dags.maxFailures,
        subPath: af.dags.subPath,
        resources: res("50m", "64Mi", "100m", "128Mi"),
      },
    },
    logs: { persistence: { enabled: true, existingClaim: af.logs.claim, storageClassName: af.logs.storageClass } },
  };
}

export function airflowHelmCommand(af: AirflowSpec, namespace: string, file: string): string {
  return `helm upgrade --install ${af.releaseName} ${af.chart} --version ${af.chartVersion} -n ${namespace} -f ${file}`;
}
