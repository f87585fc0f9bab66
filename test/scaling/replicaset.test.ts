// The ReplicaSet's scale-in ranking, case by case as kubernetes/kubernetes pkg/controller/controller_utils.go
// ActivePodsWithRanks.Less orders them (ranks: replica_set.go getPodsRankedByRelatedPodsOnSameNode).
import assert from "node:assert/strict";
import { test } from "node:test";
import { scaleInOrder, type RankedPod } from "../../src/scaling/replicaset.js";

const NOW = 1_000_000; // ms
const pod = (uid: string, over: Partial<RankedPod> = {}): RankedPod => ({
  uid,
  node: "n1",
  phase: "Running",
  ready: true,
  readySince: NOW - 600_000,
  restarts: 0,
  createdAt: NOW - 700_000,
  ...over,
});
const first = (...pods: RankedPod[]) => scaleInOrder(pods, NOW)[0]!.uid;

test("1. unassigned before assigned", () => {
  assert.equal(first(pod("a"), pod("b", { node: undefined, phase: "Pending", ready: false })), "b");
});

test("2. Pending < Unknown < Running", () => {
  assert.deepEqual(
    scaleInOrder([pod("r"), pod("u", { phase: "Unknown" }), pod("p", { phase: "Pending", ready: false })], NOW).map((p) => p.uid),
    ["p", "u", "r"],
  );
});

test("3. not ready before ready", () => {
  assert.equal(first(pod("a"), pod("b", { ready: false, readySince: undefined })), "b");
});

test("4. lower pod-deletion-cost first; an unset annotation counts as 0", () => {
  assert.equal(first(pod("a", { deletionCost: 5 }), pod("b", { deletionCost: 1 })), "b");
  assert.equal(first(pod("a", { deletionCost: 5 }), pod("b")), "b");
  assert.equal(first(pod("a", { deletionCost: -1 }), pod("b")), "a");
});

test("5. more co-located pods of the set first", () => {
  assert.equal(first(pod("lone", { node: "n2" }), pod("x"), pod("y")), "x");
});

test("6. ready for less time first, by base-2 logarithmic bucket of the age; the same bucket falls to the UID", () => {
  // 10 s vs 600 s ready: different buckets, the younger goes.
  assert.equal(first(pod("old"), pod("young", { readySince: NOW - 10_000 })), "young");
  // 600 s vs 610 s: log2 of 6.0e11 and 6.1e11 ns are both 39: same bucket, UID order.
  assert.equal(first(pod("b", { readySince: NOW - 600_000 }), pod("a", { readySince: NOW - 610_000 })), "a");
});

test("7. more restarts first (ready times equal)", () => {
  assert.equal(first(pod("a"), pod("b", { restarts: 3 })), "b");
});

test("8. newer first by logarithmic bucket (all else equal)", () => {
  assert.equal(first(pod("old", { ready: false, readySince: undefined }), pod("new", { ready: false, readySince: undefined, createdAt: NOW - 1_000 })), "new");
});
