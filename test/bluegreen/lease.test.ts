// The gateway backend's single owner and the weighted split between clusters, without processes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BackendLease, LeaseRefused } from "../../src/local/bluegreen/backend-lease.js";
import { ClusterSplit, compareWindow, type ClusterEndpoints } from "../../src/local/bluegreen/split.js";
import type { Upstream } from "../../src/local/gateway/upstreams.js";

function endpoints(pods: string[], base: number): ClusterEndpoints {
  return { list: () => pods.map((pod, i) => ({ pod, node: "n", port: base + i, ready: true, terminating: false })), onUpdate: () => () => undefined };
}

const up = (pod: string) => ({ pod }) as Upstream;

test("two controllers contending for the gateway: the second is refused with an event, a stale generation cannot write", () => {
  const events: string[] = [];
  const lease = new BackendLease({ holder: "agic-blue", generation: 1 }, (type, reason, message) => events.push(`${type} ${reason} ${message}`));
  assert.throws(
    () => lease.acquire("agic-green"),
    (e: unknown) => e instanceof LeaseRefused && /agic-green asked to own .* agic-blue owns \(generation 1\); refused/.test(e.message),
  );
  assert.match(events.at(-1)!, /^Warning BackendOwnerRefused/);
  assert.deepEqual(lease.acquire("agic-blue"), { holder: "agic-blue", generation: 1 }, "the holder may confirm its own lease");
  const split = new ClusterSplit(lease);
  split.join("blue", endpoints(["b1"], 1000));
  assert.throws(() => split.write({ holder: "agic-green", generation: 1 }, { green: 100 }, "grab"), LeaseRefused);
  const next = lease.transfer({ holder: "agic-blue", generation: 1 }, "agic-green", "switch");
  assert.deepEqual(next, { holder: "agic-green", generation: 2 });
  // The old holder, still thinking it owns the gateway, is fenced off by the generation.
  assert.throws(() => split.write({ holder: "agic-blue", generation: 1 }, { blue: 100 }, "late write"), /agic-blue \(generation 1\) may not write/);
  assert.throws(() => lease.transfer({ holder: "agic-blue", generation: 1 }, "agic-blue", "take back"), LeaseRefused);
  assert.ok(events.some((e) => e.startsWith("Warning BackendWriteRefused")));
  split.write(next, { green: 100 }, "switch");
  assert.deepEqual(split.shares, { green: 100 });
});

test("the weighted split gives each cluster its exact share, a cluster at 0 nothing, and counts per cluster", () => {
  const lease = new BackendLease({ holder: "agic-blue", generation: 1 });
  const split = new ClusterSplit(lease);
  split.join("blue", endpoints(["b1", "b2", "b3"], 1000));
  split.join("green", endpoints(["g1", "g2", "g3"], 2000));
  split.list(); // the gateway lists the endpoints before it routes
  const all = ["b1", "b2", "b3", "g1", "g2", "g3"].map(up);
  const count = (n: number) => {
    const by: Record<string, number> = { blue: 0, green: 0 };
    for (let i = 0; i < n; i++) {
      const chosen = split.route(all);
      const c = new Set(chosen.map((u) => split.clusterOf(u.pod)!));
      assert.equal(c.size, 1, "a try's candidates come from one cluster");
      by[[...c][0]!]!++;
    }
    return by;
  };
  split.write({ holder: "agic-blue", generation: 1 }, { blue: 100 }, "T0");
  assert.deepEqual(count(100), { blue: 100, green: 0 });
  split.write({ holder: "agic-blue", generation: 1 }, { blue: 90, green: 10 }, "canary");
  assert.deepEqual(count(100), { blue: 90, green: 10 });
  split.write({ holder: "agic-blue", generation: 1 }, { blue: 50, green: 50 }, "canary");
  assert.deepEqual(count(100), { blue: 50, green: 50 });
  // Only green left among the candidates but green at weight 0: nothing (503), never the wrong cluster.
  split.write({ holder: "agic-blue", generation: 1 }, { blue: 100 }, "rollback");
  assert.deepEqual(split.route(["g1", "g2"].map(up)), []);
  split.observe("g1", false, 3);
  split.observe("b1", true, 2);
  split.observe("b2", true, 4);
  assert.deepEqual(split.byCluster(), { green: { requests: 1, failed: 1 }, blue: { requests: 2, failed: 0 } });
});

test("canary analysis: an error-rate or p95 regression of green fails the window; noise at low latency does not", () => {
  const w = (requests: number, failed: number, p95Ms: number | null) => ({ requests, failed, errorRate: requests ? failed / requests : 0, p95Ms });
  assert.equal(compareWindow(w(20, 0, 3), w(180, 0, 2)).ok, true);
  assert.equal(compareWindow(w(20, 0, 30), w(180, 0, 12)).ok, true, "loopback jitter is not a regression");
  assert.match(compareWindow(w(20, 5, 3), w(180, 0, 2)).reason, /error rate is higher/);
  assert.match(compareWindow(w(20, 0, 205), w(180, 0, 3)).reason, /p95 is slower/);
  assert.match(compareWindow(w(0, 0, null), w(180, 0, 3)).reason, /answered no request/);
});
