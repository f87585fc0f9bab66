import { groupOf, type KubeObject } from "./object.js";

/** A custom resource the target needs, and the add-on that provides it on AKS. */
export interface RequiredCrd {
  /** CRD name: `<plural>.<group>`. */
  name: string;
  addOn: string;
  fix: string;
}

const PROVIDERS: Record<string, { plural: string; addOn: string; fix: string }> = {
  "keda.sh/ScaledObject": { plural: "scaledobjects", addOn: "KEDA", fix: "enable the AKS KEDA add-on: az aks update -g <rg> -n <cluster> --enable-keda" },
  "keda.sh/TriggerAuthentication": { plural: "triggerauthentications", addOn: "KEDA", fix: "enable the AKS KEDA add-on: az aks update -g <rg> -n <cluster> --enable-keda" },
  "http.keda.sh/HTTPScaledObject": {
    plural: "httpscaledobjects",
    addOn: "KEDA HTTP add-on",
    fix: "install it (KEDA first): helm install http-add-on kedacore/keda-add-ons-http --namespace <keda namespace>",
  },
  "karpenter.sh/NodePool": { plural: "nodepools", addOn: "node auto-provisioning (Karpenter)", fix: "enable it: az aks update -g <rg> -n <cluster> --node-provisioning-mode Auto" },
  "karpenter.azure.com/AKSNodeClass": {
    plural: "aksnodeclasses",
    addOn: "node auto-provisioning (Karpenter)",
    fix: "enable it: az aks update -g <rg> -n <cluster> --node-provisioning-mode Auto",
  },
  "external-secrets.io/SecretStore": {
    plural: "secretstores",
    addOn: "External Secrets Operator",
    fix: "helm install external-secrets external-secrets/external-secrets -n <namespace> --create-namespace --set installCRDs=true --wait",
  },
  "external-secrets.io/ExternalSecret": {
    plural: "externalsecrets",
    addOn: "External Secrets Operator",
    fix: "helm install external-secrets external-secrets/external-secrets -n <namespace> --create-namespace --set installCRDs=true --wait",
  },
};

/** CRDs the objects depend on, each once, in first-use order. */
export function requiredCrds(objects: readonly KubeObject[]): RequiredCrd[] {
  const seen = new Map<string, RequiredCrd>();
  for (const o of objects) {
    const group = groupOf(o.apiVersion);
    const p = PROVIDERS[`${group}/${o.kind}`];
    if (!p) continue;
    const name = `${p.plural}.${group}`;
    if (!seen.has(name)) seen.set(name, { name, addOn: p.addOn, fix: p.fix });
  }
  return [...seen.values()];
}
