import { test } from "node:test";
import assert from "node:assert/strict";
import { tolerates } from "../../src/local/cluster/cluster.js";

test("taints: NoSchedule blocks unless tolerated (Equal needs key and value; Exists matches the key)", () => {
  const critical = [{ key: "CriticalAddonsOnly", value: "true", effect: "NoSchedule" as const }];
  const appToleration = [{ key: "deployment", operator: "Equal" as const, value: "aqs-app-pool", effect: "NoSchedule" as const }];
  assert.equal(tolerates(appToleration, critical), false);
  assert.equal(tolerates([], []), true);
  assert.equal(tolerates(appToleration, [{ key: "deployment", value: "aqs-app-pool", effect: "NoSchedule" }]), true);
  assert.equal(tolerates(appToleration, [{ key: "deployment", value: "other", effect: "NoSchedule" }]), false);
  assert.equal(tolerates([{ key: "CriticalAddonsOnly", operator: "Exists", effect: "NoSchedule" }], critical), true);
  assert.equal(tolerates([], [{ key: "x", effect: "PreferNoSchedule" }]), true);
});
