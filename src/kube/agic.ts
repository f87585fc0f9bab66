import type { BlueGreenSpec } from "../blueprints/types.js";
import type { Settings } from "./config.js";

/** Helm values of the Application Gateway Ingress Controller (chart ingress-azure), as one cluster installs it. */
export interface AgicValues {
  verbosityLevel: number;
  appgw: { subscriptionId: string; resourceGroup: string; name: string; environment: string; shared: boolean };
  armAuth: { type: "workloadIdentity"; identityClientID: string };
  rbac: { enabled: boolean };
}

export interface AgicFile {
  cluster: string;
  /** The cluster whose AGIC owns the gateway now. */
  owner: boolean;
  values: AgicValues;
  /** Comment lines explaining the cluster's role and how to hand the gateway over. */
  header: string[];
  /** Command that installs (or updates) AGIC on this cluster with this file. */
  install: string;
}

/**
 * One values file per cluster. Both are the same configuration: with `shared: false` an AGIC writes
 * the gateway's whole config, so whichever cluster runs AGIC owns the gateway. Ownership is therefore
 * expressed by where the release is installed: exactly one cluster (the active one) has it, and the
 * switch installs it on the target before uninstalling it from the source.
 */
export function agicFiles(spec: BlueGreenSpec, clusters: string[], s: Settings): AgicFile[] {
  const bg = s.config.values.bluegreen ?? {};
  const active = bg.activeCluster ?? spec.activeCluster;
  const values: AgicValues = {
    verbosityLevel: spec.verbosityLevel,
    appgw: {
      subscriptionId: s.need("bluegreen.appGateway.subscriptionId", bg.appGateway?.subscriptionId),
      resourceGroup: s.need("bluegreen.appGateway.resourceGroup", bg.appGateway?.resourceGroup),
      name: s.need("bluegreen.appGateway.name", bg.appGateway?.name),
      environment: s.cloud.agicEnvironment,
      shared: false,
    },
    // Workload identity instead of the seed's base64 service-principal secret.
    armAuth: { type: "workloadIdentity", identityClientID: s.need("bluegreen.agicIdentityClientId", bg.agicIdentityClientId) },
    rbac: { enabled: true },
  };
  return clusters.map((cluster) => {
    const owner = cluster === active;
    const file = agicValuesFileName(cluster);
    const install = `helm upgrade --install ${spec.agicReleaseName} ${spec.agicChart} --version ${spec.agicChartVersion} -n ${spec.agicNamespace} -f ${file}`;
    const uninstall = `helm uninstall ${spec.agicReleaseName} -n ${spec.agicNamespace}`;
    const header = owner
      ? [
          `AGIC values for cluster "${cluster}": OWNER of Application Gateway ${values.appgw.name}.`,
          `Only one cluster may run AGIC for this gateway (shared: false writes the whole gateway config).`,
          `Install on ${cluster}: ${install}`,
        ]
      : [
          `AGIC values for cluster "${cluster}": STANDBY. Do not install while "${active}" owns the gateway.`,
          `Switch to ${cluster}: 1) on ${cluster}: ${install}`,
          `                    2) on ${active}: ${uninstall}`,
          `Roll back: the same two steps with the clusters swapped.`,
        ];
    return { cluster, owner, values: structuredClone(values), header, install };
  });
}

export function agicValuesFileName(cluster: string): string {
  return `agic-values-${cluster}.yaml`;
}
