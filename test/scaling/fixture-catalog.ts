import type { InstanceType } from "../../src/scaling/catalog.js";

const GiB = 1024 ** 3;

/**
 * A fixed four-size catalog for the rule tests (packing, consolidation, the engine's timelines): their
 * numbers stay put when the default catalog's SKUs, prices or reservations are refreshed. The default
 * catalog has its own tests (catalog.test.ts).
 */
export const TEST_CATALOG: InstanceType[] = [
  { name: "Standard_D2s_v5", cpuMillis: 1900, memoryBytes: 5.5 * GiB, maxPods: 30, pricePerHour: 0.096 },
  { name: "Standard_D4s_v5", cpuMillis: 3860, memoryBytes: 12.5 * GiB, maxPods: 30, pricePerHour: 0.192 },
  { name: "Standard_D8s_v5", cpuMillis: 7820, memoryBytes: 27 * GiB, maxPods: 30, pricePerHour: 0.384 },
  { name: "Standard_D16s_v5", cpuMillis: 15740, memoryBytes: 57 * GiB, maxPods: 30, pricePerHour: 0.768 },
];
