// A cluster's add-ons put DaemonSets on every node; their requests come off each node's allocatable, in the one
// function (nodeTypesFor) the runtime's static pools, Karpenter's instance choice and the simulator all read.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ClusterAddOn, ClusterSpec } from "../../src/blueprints/types.js";
import { getBlueprint } from "../../src/blueprints/index.js";
import { seedNodePool } from "../../src/blueprints/edw.js";
import { AKS_DAEMONSETS, nodeTypesFor } from "../../src/scaling/catalog.js";
import { daemonSetOverhead, nodeDaemonSets } from "../../src/scaling/daemonsets.js";
import { poolSettings } from "../../src/scaling/karpenter.js";
import { planLaunch } from "../../src/scaling/packing.js";
import { addStaticNodes } from "../../src/local/runtime.js";
import { simulate } from "../../src/sim/engine.js";
import { scalingRuleFrom } from "../../src/scaling/scaledobject.js";
import { seedScaledObject } from "../../src/blueprints/edw.js";
import { harness, template } from "../runtime/harness.js";

const MiB = 1024 ** 2;

// What each add-on changes on every node, from the manifests cited in src/scaling/daemonsets.ts.
const ADD_ONS: [ClusterAddOn, { cpuMillis: number; memoryMiB: number; pods: number }][] = [
  // ama-logs: addon-token-adapter 20m/50Mi + ama-logs 75m/325Mi + ama-logs-prometheus 75m/225Mi.
  ["monitoring", { cpuMillis: 170, memoryMiB: 600, pods: 1 }],
  // cilium (init container 100m/100Mi) and azure-cns (no requests) in, kube-proxy (100m) out.
  ["cilium-dataplane", { cpuMillis: 0, memoryMiB: 100, pods: 1 }],
  // csi-blob-node: three containers of 10m/20Mi.
  ["blob-driver", { cpuMillis: 30, memoryMiB: 60, pods: 1 }],
  // aad-pod-identity's NMI: 100m/256Mi.
  ["aad-pod-identity", { cpuMillis: 100, memoryMiB: 256, pods: 1 }],
  // Deployments or the control plane only.
  ["keda", { cpuMillis: 0, memoryMiB: 0, pods: 0 }],
  ["workload-identity", { cpuMillis: 0, memoryMiB: 0, pods: 0 }],
  ["oidc-issuer", { cpuMillis: 0, memoryMiB: 0, pods: 0 }],
  ["node-auto-provisioning", { cpuMillis: 0, memoryMiB: 0, pods: 0 }],
];

for (const [addOn, less] of ADD_ONS) {
  test(`add-on ${addOn}: every node's allocatable shrinks by ${less.cpuMillis}m CPU, ${less.memoryMiB}Mi, ${less.pods} pod(s)`, () => {
    const base = nodeTypesFor([]);
    const withIt = nodeTypesFor([addOn]);
    for (const vmSize of ["Standard_D2s_v5", "Standard_D8as_v5"]) {
      const a = base.typeFor(vmSize);
      const b = withIt.typeFor(vmSize);
      assert.equal(a.cpuMillis - b.cpuMillis, less.cpuMillis, `${vmSize} cpu`);
      assert.equal(a.memoryBytes - b.memoryBytes, less.memoryMiB * MiB, `${vmSize} memory`);
      assert.equal(a.maxPods - b.maxPods, less.pods, `${vmSize} pods`);
    }
    // Karpenter's catalog and a static pool's size are the same figure.
    assert.deepEqual(
      withIt.catalog.find((t) => t.name === "Standard_D2s_v5"),
      withIt.typeFor("Standard_D2s_v5"),
    );
  });
}

test("no add-on: the AKS base DaemonSets (kube-proxy, cloud-node-manager, the disk and file CSI node plugins)", () => {
  assert.deepEqual(
    nodeDaemonSets([]).map((d) => d.name),
    ["kube-proxy", "cloud-node-manager", "csi-azuredisk-node", "csi-azurefile-node"],
  );
  assert.deepEqual(daemonSetOverhead([]), AKS_DAEMONSETS);
  assert.deepEqual(AKS_DAEMONSETS, { cpuMillis: 210, memoryBytes: 170 * MiB, pods: 4 });
  // Cilium replaces kube-proxy.
  assert.ok(!nodeDaemonSets(["cilium-dataplane"]).some((d) => d.name === "kube-proxy"));
});

test("the seed blueprints' add-ons, as their az aks create flags enable them, and what they cost per node", () => {
  const overhead = (name: string) => daemonSetOverhead(getBlueprint(name).clusters[0]!.addOns);
  // EDW: Cilium (no kube-proxy) and monitoring; KEDA, workload identity, OIDC and NAP add no DaemonSet.
  assert.deepEqual(overhead("edw"), { cpuMillis: 380, memoryBytes: 870 * MiB, pods: 6 });
  // Airflow: the blob CSI driver.
  assert.deepEqual(overhead("airflow"), { cpuMillis: 240, memoryBytes: 230 * MiB, pods: 5 });
  // Resilient web: monitoring.
  assert.deepEqual(overhead("resilient-web"), { cpuMillis: 380, memoryBytes: 770 * MiB, pods: 5 });
  // Blue-green: aad-pod-identity's NMI on every node of both clusters.
  for (const c of getBlueprint("bluegreen").clusters) assert.deepEqual(daemonSetOverhead(c.addOns), { cpuMillis: 310, memoryBytes: 426 * MiB, pods: 5 });
});

// Pods of 280m: six fill a 2-vCPU node's 1,690m without add-ons, but not the 1,520m monitoring leaves.
const REQ = { cpuMillis: 280, memoryBytes: 64 * MiB };

test("monitoring changes Karpenter's launch: six 280m pods take a D2as_v5 without it, a D4as_v5 with it", () => {
  const plan = (addOns: ClusterAddOn[]) => planLaunch(new Array(6).fill(REQ), poolSettings(seedNodePool(), nodeTypesFor(addOns).catalog).catalog).nodes.map((n) => n.type.name);
  assert.deepEqual(plan([]), ["Standard_D2as_v5"]);
  assert.deepEqual(plan(["monitoring"]), ["Standard_D4as_v5"]);
});

/** One untainted D2s_v5 application node and a NodePool, with the add-ons given. */
const smallCluster = (addOns: ClusterAddOn[]): Pick<ClusterSpec, "agentPools" | "addOns" | "kubernetesVersion"> => ({
  agentPools: [{ name: "apppool", mode: "User", vmSize: "Standard_D2s_v5", count: 1 }],
  addOns,
});

test("the runtime's static node holds six 280m pods without monitoring and five with it", async () => {
  for (const [addOns, bound] of [
    [[], 6],
    [["monitoring"], 5],
  ] as [ClusterAddOn[], number][]) {
    const h = harness();
    addStaticNodes(h.cluster, smallCluster(addOns));
    h.cluster.addDeployment("web", template({ requests: REQ }), 6);
    await h.run(5000, 500);
    assert.equal(h.cluster.podsOn("aks-apppool-00000").length, bound, `add-ons [${addOns.join(", ")}]`);
    assert.equal(h.pods("web", "Pending").length, 6 - bound);
    await h.cluster.shutdown();
  }
});

test("the simulator's static node does the same, and Karpenter launches for the sixth pod only with monitoring", () => {
  const rule = scalingRuleFrom(seedScaledObject());
  const run = (addOns: ClusterAddOn[]) =>
    simulate({
      rule,
      pool: poolSettings(seedNodePool(), nodeTypesFor(addOns).catalog),
      cluster: smallCluster(addOns),
      podRequests: REQ,
      initialReplicas: 6,
      trace: { kind: "queue", points: [{ t: 0, v: 0 }] },
      durationSeconds: 5,
    });
  const without = run([]);
  const withMonitoring = run(["monitoring"]);
  assert.equal(without.nodes.find((n) => n.static)!.pods, 6);
  assert.equal(withMonitoring.nodes.find((n) => n.static)!.pods, 5);
  const launches = (r: ReturnType<typeof run>) => r.events.filter((e) => e.reason === "Launched" && !e.message.includes("in agent pool")).length;
  assert.equal(launches(without), 0);
  assert.equal(launches(withMonitoring), 1);
  assert.match(withMonitoring.events.find((e) => e.object === "node/aks-apppool-00000")!.message, /^Standard_D2s_v5 \(1520m CPU/);
  assert.deepEqual(withMonitoring.summary.daemonSetsPerNode, { cpuMillis: 380, memoryBytes: 770 * MiB, pods: 5 });
});
