import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildGraph, getGraphDefinition, graphNames } from "../../src/provisioning/graphs/index.js";
import { exportEnvText, orderNodes } from "../../src/provisioning/engine.js";
import { checkLocation, cloudOf, parseCloud } from "../../src/provisioning/clouds.js";
import { randomSuffix, stableGuid } from "../../src/provisioning/names.js";
import { newState } from "../../src/provisioning/state.js";
import { UserError } from "../../src/errors.js";
import type { ManagedClusterNode, ResourceGraph } from "../../src/provisioning/types.js";
import { blueprintNames, getBlueprint } from "../../src/blueprints/index.js";
import type { Blueprint } from "../../src/blueprints/types.js";

function build(name: string, suffix = "ab12cd", bp?: Blueprint, over: { kubernetesVersion?: string } = {}): ResourceGraph {
  const def = getGraphDefinition(name);
  return buildGraph(def, { suffix, cloud: def.defaultCloud, location: def.defaultLocation[def.defaultCloud], ...over }, bp);
}

const clusters = (g: ResourceGraph) => g.nodes.filter((n): n is ManagedClusterNode => n.kind === "managedCluster");

describe("resource graphs", () => {
  it("every blueprint's graph orders without cycles or dangling references", () => {
    assert.deepEqual(graphNames(), ["airflow-infra", "bluegreen", "edw", "resilient-web"]);
    for (const name of graphNames()) {
      const g = build(name);
      const ordered = orderNodes(g.nodes);
      assert.equal(ordered.length, g.nodes.length);
      assert.equal(ordered[0]!.kind, "resourceGroup", `${name}: the resource group comes first`);
      assert.equal(new Set(g.nodes.map((n) => n.id)).size, g.nodes.length, `${name}: unique step ids`);
    }
  });

  it("role assignments are scoped to one resource, never a subscription or resource group", () => {
    for (const name of graphNames()) {
      const g = build(name);
      for (const n of g.nodes) {
        if (n.kind !== "roleAssignment") continue;
        const scope = g.nodes.find((x) => x.id === n.scope.ref)!;
        assert.notEqual(scope.kind, "resourceGroup", `${name}/${n.id}`);
        assert.ok(n.scope.output === "id" || n.scope.output.startsWith("subnet:"), `${name}/${n.id} scope is a resource id`);
      }
    }
  });

  it("edw: the seed's names, 4 roles, 3 federated credentials (the producer its own, send-only), and the 12 deploy.state keys in order", () => {
    const g = build("edw");
    const names = Object.fromEntries(g.nodes.map((n) => [n.id, n.name]));
    assert.equal(names.resourceGroup, "rg-aksdemo-ab12cd");
    assert.equal(names.storageAccount, "storaksdemoab12cd");
    assert.equal(names.registry, "acraksdemoab12cd");
    assert.equal(names.clusterIdentity, "mi-aksdemo-ab12cd");
    assert.equal(names.cluster, "aks-aksdemo-ab12cd");
    assert.equal(names.workloadIdentity, "mi-aks-workload-identity-ab12cd");
    assert.equal(names.workloadFederation, "federated-credential-ab12cd");
    assert.equal(names.kedaFederation, "fed-cred-aksdemo-kedasvc-ab12cd");
    assert.deepEqual(
      g.nodes
        .filter((n) => n.kind === "roleAssignment")
        .map((n) => n.kind === "roleAssignment" && n.role)
        .sort(),
      ["AcrPull", "Storage Queue Data Contributor", "Storage Queue Data Message Sender", "Storage Table Data Contributor"],
    );
    const sender = g.nodes.find((n) => n.kind === "roleAssignment" && n.role === "Storage Queue Data Message Sender")!;
    assert.ok(
      sender.kind === "roleAssignment" && JSON.stringify(sender.principalId).includes('"producerIdentity"') && sender.scope.ref === "queue",
      "the producer may send to the queue, nothing else",
    );
    assert.equal(names.producerIdentity, "mi-aks-producer-identity-ab12cd");
    const subjects = g.nodes.flatMap((n) => (n.kind === "federatedCredential" ? [n.subject] : []));
    assert.deepEqual(subjects, [
      "system:serviceaccount:aqs-demo:aqs-app-service-account",
      "system:serviceaccount:kube-system:keda-operator",
      "system:serviceaccount:aqs-demo:aqs-producer-service-account",
    ]);
    const state = newState({ blueprint: "edw", target: "azure", cloud: g.cloud, location: g.location, suffix: g.suffix });
    const keys = exportEnvText(g, state)
      .trim()
      .split("\n")
      .map((l) => l.split("=")[0]);
    assert.deepEqual(keys, [
      "SUFFIX",
      "RESOURCE_GROUP",
      "AZURE_STORAGE_ACCOUNT_NAME",
      "AZURE_QUEUE_NAME",
      "AZURE_TABLE_NAME",
      "AZURE_CONTAINER_REGISTRY_NAME",
      "AKS_MANAGED_IDENTITY_NAME",
      "AKS_CLUSTER_NAME",
      "WORKLOAD_MANAGED_IDENTITY_NAME",
      "SERVICE_ACCOUNT",
      "FEDERATED_IDENTITY_CREDENTIAL_NAME",
      "KEDA_SERVICE_ACCT_CRED_NAME",
    ]);
  });

  it("global names fit Azure's rules for every suffix", () => {
    for (let i = 0; i < 50; i++) {
      const suffix = randomSuffix();
      assert.match(suffix, /^[a-z0-9]{6}$/);
      for (const name of graphNames()) {
        for (const n of build(name, suffix).nodes) {
          if (n.kind === "storageAccount") assert.match(n.name, /^[a-z0-9]{3,24}$/);
          if (n.kind === "containerRegistry") assert.match(n.name, /^[a-zA-Z0-9]{5,50}$/);
          if (n.kind === "keyVault") assert.match(n.name, /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/);
        }
      }
    }
  });

  it("clouds: endpoints, suffixes and the KEDA cloud value follow the choice; regions must match the cloud", () => {
    assert.equal(cloudOf("AzureChinaCloud").registrySuffix, "azurecr.cn");
    assert.equal(cloudOf("AzureChinaCloud").storageSuffix, "core.chinacloudapi.cn");
    assert.equal(cloudOf("AzureChinaCloud").kedaCloud, "AzureChinaCloud");
    assert.equal(cloudOf("AzurePublicCloud").resourceManager, "https://management.azure.com");
    assert.equal(parseCloud("china"), "AzureChinaCloud");
    assert.equal(checkLocation("AzureChinaCloud", "ChinaNorth2"), "chinanorth2");
    assert.throws(
      () => checkLocation("AzurePublicCloud", "chinaeast2"),
      (e: unknown) => e instanceof UserError && /add --cloud AzureChinaCloud/.test(e.line()),
    );
    assert.throws(() => checkLocation("AzureChinaCloud", "westus3"), UserError);
    assert.equal(getGraphDefinition("bluegreen").defaultCloud, "AzureChinaCloud");
    assert.equal(getGraphDefinition("bluegreen").defaultLocation.AzureChinaCloud, "chinanorth2");
    assert.equal(getGraphDefinition("resilient-web").defaultLocation.AzureChinaCloud, "chinaeast2");
  });

  it("role assignment names are stable GUIDs derived from scope, role and principal", () => {
    const a = stableGuid("/s/x", "AcrPull", "p1");
    assert.equal(a, stableGuid("/S/X", "AcrPull", "p1"));
    assert.notEqual(a, stableGuid("/s/x", "AcrPull", "p2"));
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("every blueprint has a graph, found by the blueprint's name or the graph's", () => {
    for (const name of blueprintNames()) assert.equal(getGraphDefinition(name).blueprint, name);
    assert.equal(getGraphDefinition("airflow"), getGraphDefinition("airflow-infra"));
  });

  it("clusters come from the blueprint: pools, taints, zones and version", () => {
    for (const name of graphNames()) {
      const def = getGraphDefinition(name);
      const bp = getBlueprint(def.blueprint);
      const g = build(name);
      // The seeds' own versions where AKS still creates them (≥ 1.30); older ones (1.18–1.20) are labels for the
      // local runtime, and the graph leaves the version to the region's default.
      const provisionable = (v: string | undefined) => (v && Number(/^1\.(\d+)/.exec(v)?.[1]) >= 30 ? v : undefined);
      assert.deepEqual(
        clusters(g).map((c) => c.kubernetesVersion),
        bp.clusters.map((c) => provisionable(c.kubernetesVersion)),
        name,
      );
      assert.deepEqual(
        clusters(g).map((c) => c.pools.map((p) => [p.name, p.mode, p.vmSize, p.count, p.zones ?? []])),
        bp.clusters.map((c) => c.agentPools.map((p) => [p.name, p.mode, p.vmSize, p.count, p.zones ?? []])),
        name,
      );
    }
    const edw = clusters(build("edw"))[0]!;
    assert.deepEqual(
      edw.pools.map((p) => p.taints),
      [["CriticalAddonsOnly=true:NoSchedule"], ["deployment=aqs-app-pool:NoSchedule"]],
    );
    assert.equal(edw.nodeAutoProvisioning, true, "the blueprint has a Karpenter NodePool");
    assert.equal(edw.keda, true, "the blueprint has a ScaledObject");
    // The seed's blue 1.19.11 and green 1.20.7 are no longer offered by AKS: both get the region's default;
    // --kubernetes-version sets both.
    const bg = clusters(build("bluegreen"));
    assert.deepEqual(
      bg.map((c) => [c.id, c.name, c.kubernetesVersion]),
      [
        ["blue", "aks-blue-ab12cd", undefined],
        ["green", "aks-green-ab12cd", undefined],
      ],
    );
    assert.equal(clusters(build("edw"))[0]!.kubernetesVersion, "1.30", "the EDW seed's 1.30 is still created (long-term support)");
    assert.deepEqual(
      clusters(build("bluegreen", "ab12cd", undefined, { kubernetesVersion: "1.31" })).map((c) => c.kubernetesVersion),
      ["1.31", "1.31"],
    );
    assert.equal(clusters(build("airflow-infra"))[0]!.kubernetesVersion, undefined, "no version in the blueprint: the region's default");
  });

  it("changing the blueprint changes the graph: a pool's count, taints, labels, the version, the queue name", () => {
    const bp = getBlueprint("edw");
    const app = bp.clusters[0]!.agentPools.find((p) => p.name === "apppool")!;
    app.count = 4;
    app.vmSize = "Standard_D4s_v5";
    app.taints = [{ key: "dedicated", effect: "NoExecute" }];
    app.labels = { workload: "consumer" };
    bp.clusters[0]!.kubernetesVersion = "1.31";
    bp.apps[0]!.env.AZURE_QUEUE_NAME = "orders";
    const g = build("edw", "ab12cd", bp);
    const pool = clusters(g)[0]!.pools.find((p) => p.name === "apppool")!;
    assert.deepEqual([pool.count, pool.vmSize, pool.taints, pool.labels], [4, "Standard_D4s_v5", ["dedicated:NoExecute"], { workload: "consumer" }]);
    assert.equal(clusters(g)[0]!.kubernetesVersion, "1.31");
    assert.equal(g.nodes.find((n) => n.id === "queue")!.name, "orders");
    // The registry's copy is untouched: the default graph still has the seed's pool.
    assert.equal(clusters(build("edw"))[0]!.pools.find((p) => p.name === "apppool")!.count, 1);

    const bg = getBlueprint("bluegreen");
    bg.clusters.find((c) => c.name === "green")!.agentPools[0]!.count = 5;
    assert.deepEqual(
      clusters(build("bluegreen", "ab12cd", bg)).map((c) => c.pools[0]!.count),
      [3, 5],
    );
  });

  it("airflow-infra imports the blueprint's images and writes its secret names", () => {
    const bp = getBlueprint("airflow");
    const g = build("airflow-infra");
    const imports = g.nodes.flatMap((n) => (n.kind === "registryImport" ? [[n.sourceRegistry, n.sourceImage, n.targetTag]] : []));
    assert.deepEqual(
      imports,
      Object.values(bp.airflow!.images).map((i) => [i.source.split("/")[0], i.source.slice(i.source.indexOf("/") + 1), `${i.repository}:${i.tag}`]),
    );
    assert.deepEqual(imports[0], ["docker.io", "apache/airflow:airflow-pgbouncer-2024.01.19-1.21.0", "airflow:airflow-pgbouncer-2024.01.19-1.21.0"]);
    assert.equal(imports.length, 6);
    const secrets = g.nodes.flatMap((n) => (n.kind === "keyVaultSecret" ? [n.name] : []));
    assert.deepEqual(secrets, ["AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-NAME", "AKS-AIRFLOW-LOGS-STORAGE-ACCOUNT-KEY"]);
    bp.airflow!.images.statsd!.tag = "v0.27.0";
    bp.airflow!.images.statsd!.source = "quay.io/prometheus/statsd-exporter:v0.27.0";
    const changed = build("airflow-infra", "ab12cd", bp).nodes.find((n) => n.kind === "registryImport" && n.targetTag.startsWith("statsd-exporter"));
    assert.equal(changed?.kind === "registryImport" && changed.sourceImage, "prometheus/statsd-exporter:v0.27.0");
  });

  it("each AKS cluster enables what its blueprint cluster's addOns say (the add-ons whose DaemonSets the nodes' allocatable counts)", () => {
    // The graph's flags, as ClusterAddOn names; aad-pod-identity is a Helm install after the cluster, not a flag.
    const flags = (n: ManagedClusterNode): string[] =>
      [
        n.monitoring !== undefined && "monitoring",
        n.network.dataplane === "cilium" && "cilium-dataplane",
        n.blobCsiDriver && "blob-driver",
        n.keda && "keda",
        n.workloadIdentity && "workload-identity",
        n.oidcIssuer && "oidc-issuer",
        n.nodeAutoProvisioning && "node-auto-provisioning",
      ]
        .filter((x): x is string => typeof x === "string")
        .sort();
    for (const name of graphNames()) {
      const def = getGraphDefinition(name);
      const bp = getBlueprint(def.blueprint);
      const expected = bp.clusters.map((c) => c.addOns.filter((a) => a !== "aad-pod-identity").sort());
      assert.deepEqual(clusters(build(name)).map(flags), expected, name);
    }
  });
});
