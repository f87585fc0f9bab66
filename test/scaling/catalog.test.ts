// The default catalog: the D family at AKS's reservations, DaemonSets taken off, ranked by a dated price snapshot.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AKS_DAEMONSETS, DEFAULT_CATALOG, D_FAMILY_SKUS, instanceTypeOf, reservedCpuMillis, reservedMemoryBytes } from "../../src/scaling/catalog.js";
import { planLaunch } from "../../src/scaling/packing.js";

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

test("CPU reservation follows AKS's documented table", () => {
  assert.deepEqual([1, 2, 4, 8, 16, 32, 64].map(reservedCpuMillis), [60, 100, 140, 180, 260, 420, 740]);
});

test("memory reservation (AKS 1.29+): min(20 MiB × maxPods + 50 MiB, 25 %) + 100 Mi eviction", () => {
  // 8 GiB, 250 pods: 5,050 MiB > 2,048 MiB (25 %) → 2,048 + 100.
  assert.equal(reservedMemoryBytes(8 * GiB, 250), (2048 + 100) * MiB);
  // 64 GiB, 30 pods: 650 MiB < 16 GiB → 650 + 100.
  assert.equal(reservedMemoryBytes(64 * GiB, 30), (650 + 100) * MiB);
});

test("allocatable = capacity − reservations − DaemonSet requests; pods per node less the DaemonSets'", () => {
  const d2 = instanceTypeOf({ name: "Standard_D2s_v5", vcpu: 2, memoryGiB: 8, pricePerHour: 0.096 });
  assert.equal(d2.cpuMillis, 2000 - 100 - AKS_DAEMONSETS.cpuMillis);
  assert.equal(d2.memoryBytes, 8 * GiB - (2048 + 100) * MiB - AKS_DAEMONSETS.memoryBytes);
  assert.equal(d2.maxPods, 250 - AKS_DAEMONSETS.pods);
  const bare = instanceTypeOf({ name: "x", vcpu: 2, memoryGiB: 8, pricePerHour: 1 }, { daemonSets: { cpuMillis: 0, memoryBytes: 0, pods: 0 } });
  assert.equal(bare.cpuMillis - d2.cpuMillis, AKS_DAEMONSETS.cpuMillis);
});

test("every D-family SKU of the snapshot is in the catalog; the cheapest compatible one is chosen", () => {
  assert.equal(DEFAULT_CATALOG.length, D_FAMILY_SKUS.length);
  // The seed consumer (250m, 64Mi): 6 fit a 2-vCPU node after the DaemonSets; the AMD D2as_v5 is the cheapest.
  const plan = planLaunch(new Array(6).fill({ cpuMillis: 250, memoryBytes: 64 * MiB }), DEFAULT_CATALOG);
  assert.deepEqual(
    plan.nodes.map((n) => [n.type.name, n.pods.length]),
    [["Standard_D2as_v5", 6]],
  );
  const cheapest2 = D_FAMILY_SKUS.filter((s) => s.vcpu === 2).sort((a, b) => a.pricePerHour - b.pricePerHour)[0]!;
  assert.equal(cheapest2.name, "Standard_D2as_v5");
});
