// fitsOneNode is consolidation's fast question ("does what is left fit one new node of this type?"); it must
// answer exactly what planning the launch with that one type answers, which is what consolidation asked before.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { DEFAULT_CATALOG } from "../../src/scaling/catalog.js";
import { fitsOneNode, planLaunch } from "../../src/scaling/packing.js";
import type { Resources } from "../../src/scaling/quantity.js";
import { TEST_CATALOG } from "./fixture-catalog.js";

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const catalog = [...TEST_CATALOG, ...DEFAULT_CATALOG];
const pod: fc.Arbitrary<Resources> = fc.record({ cpuMillis: fc.integer({ min: 0, max: 9000 }), memoryBytes: fc.integer({ min: 0, max: 40 * 1024 }).map((m) => m * MiB) });
const limit = fc.option(fc.integer({ min: 0, max: 64 }), { nil: undefined });

test("fitsOneNode answers what planLaunch with that one type answers: one node, nothing unschedulable", () => {
  let yes = 0;
  let no = 0;
  fc.assert(
    fc.property(
      fc.oneof(
        fc.array(pod, { maxLength: 40 }),
        fc.integer({ min: 0, max: 300 }).map((n) => new Array<Resources>(n).fill({ cpuMillis: 50, memoryBytes: 64 * MiB })),
      ),
      fc.constantFrom(...catalog),
      fc.record({ cpu: limit, mem: limit, usedCpu: fc.integer({ min: 0, max: 32 }), usedMem: fc.integer({ min: 0, max: 128 }) }),
      (pods, t, l) => {
        const limits = { cpuMillis: l.cpu === undefined ? undefined : l.cpu * 1000, memoryBytes: l.mem === undefined ? undefined : l.mem * 4 * GiB };
        const used = { cpuMillis: l.usedCpu * 1000, memoryBytes: l.usedMem * GiB };
        const plan = planLaunch(pods, [t], limits, used);
        const planned = plan.nodes.length === 1 && plan.unschedulable.length === 0;
        const fast = fitsOneNode(pods, t, limits, used);
        if (fast) yes++;
        else no++;
        assert.equal(fast, planned, JSON.stringify({ pods: pods.length, t: t.name, limits, used, nodes: plan.nodes.length, unschedulable: plan.unschedulable.length }));
      },
    ),
    { numRuns: 2000 },
  );
  // Both answers were exercised, not only one of them.
  assert.ok(yes > 100 && no > 100, `yes ${yes}, no ${no}`);
});

test("fitsOneNode on the default catalog: as many small pods as a D2 node's maxPods fit it, one more does not, and a tight limit refuses it", () => {
  const d2 = DEFAULT_CATALOG.find((t) => t.name === "Standard_D2s_v5")!;
  const small = (n: number) => new Array<Resources>(n).fill({ cpuMillis: 1, memoryBytes: MiB });
  assert.equal(fitsOneNode(small(d2.maxPods), d2), true);
  assert.equal(fitsOneNode(small(d2.maxPods + 1), d2), false);
  assert.equal(fitsOneNode(small(1), d2, { cpuMillis: d2.cpuMillis - 1 }), false);
});
