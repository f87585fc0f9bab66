// Protocol tests (in-process fake ARM, not Azure; FAKE CLUSTER: a kubectl stand-in, not an API server):
// `upgrade --target aks` drives provisioning and the kube target through the same state machine as the local
// rehearsal — green created at the new version, the app applied to it, AGIC moved, rollback, --finish
// deleting blue, and a run interrupted by a failed ARM operation resumed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deploy, type ProvisionOptions } from "../../src/provisioning/engine.js";
import { AzureProvider } from "../../src/provisioning/azure/provider.js";
import { UserError } from "../../src/errors.js";
import { aksFinish, aksRollback, aksStatePath, aksUpgrade, type AksUpgradeOptions } from "../../src/upgrade/aks.js";
import { FakeArm } from "../provisioning/fake-arm.js";
import { applyToAks } from "../../src/kube/apply.js";
import type { Kubectl } from "../../src/kube/kubectl.js";
import { sourcePath } from "../kube/helpers.js";

/** FAKE CLUSTER: kubectl answering apply/get/rollout from memory. */
function kubectlStandIn() {
  const applied: { kind: string; name: string }[] = [];
  const run: Kubectl = async (args, stdin) => {
    if (args.includes("--raw")) return { code: 0, stdout: '{"gitVersion":"v1.31.2"}', stderr: "" };
    if (args[0] === "get") return { code: 0, stdout: "", stderr: "" };
    if (args[0] === "apply") {
      const o = JSON.parse(stdin!) as { kind: string; metadata: { name: string } };
      applied.push({ kind: o.kind, name: o.metadata.name });
      return { code: 0, stdout: String(applied.length), stderr: "" };
    }
    if (args[0] === "rollout") return { code: 0, stdout: "successfully rolled out\n", stderr: "" };
    return { code: 1, stdout: "", stderr: `kubectl stand-in: unexpected ${args.join(" ")}` };
  };
  return { run, applied };
}

function setup(t: { after(fn: () => void): void }) {
  const fake = new FakeArm();
  const root = mkdtempSync(join(tmpdir(), "akspilot-bg-aks-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const lines: string[] = [];
  const applied: string[] = [];
  const kubectl = kubectlStandIn();
  const provision: ProvisionOptions = {
    blueprint: "bluegreen",
    target: "azure",
    root,
    suffix: "t3st01",
    out: () => undefined,
    provider: (g) =>
      new AzureProvider({ cloud: g.cloud, subscriptionId: fake.subscriptionId, credential: fake.credentialFor(), httpClient: fake.httpClient, pollMs: 1, replicationDelayMs: 1 }),
  };
  const o: AksUpgradeOptions = {
    provision,
    out: (l) => lines.push(l),
    applyApp: async (c) => {
      applied.push(c);
      await applyToAks({
        blueprint: "bluegreen",
        cluster: c,
        context: `aks-${c}`,
        dryRun: false,
        out: (l) => lines.push(l),
        valuesFile: sourcePath("fixtures", "values.yaml"),
        kubectl: kubectl.run,
        stateDir: join(root, ".akspilot", "kube"),
      });
    },
  };
  const cluster = (name: string) =>
    fake.resources.get(`/subscriptions/${fake.subscriptionId}/resourcegroups/aks_upgrade-t3st01/providers/microsoft.containerservice/managedclusters/aks-${name}-t3st01`);
  const agic = (name: string) =>
    (cluster(name)?.properties as { addonProfiles?: Record<string, { enabled: boolean }> } | undefined)?.addonProfiles?.ingressApplicationGateway?.enabled ?? false;
  const version = (name: string) => (cluster(name)?.properties as { kubernetesVersion?: string } | undefined)?.kubernetesVersion;
  return { fake, root, lines, applied, kubectl, provision, o, cluster, agic, version };
}

test("protocol: upgrade --target aks: green at the new version, AGIC moved green-first, rollback deletes green, --finish deletes blue", async (t) => {
  const x = setup(t);
  await deploy(x.provision);
  assert.equal(x.agic("blue"), true);
  await assert.rejects(aksFinish(x.o), (e: unknown) => e instanceof UserError && /no upgrade is in progress/.test(e.message));
  await assert.rejects(aksRollback(x.o), (e: unknown) => e instanceof UserError && /nothing to roll back/.test(e.message));
  await assert.rejects(aksUpgrade(x.o, { to: "1.31.2", canary: [10, 100] }), /--canary with --target aks: the AGIC add-on writes the whole Application Gateway/);
  await assert.rejects(aksUpgrade(x.o, { to: "latest" }), /is not a Kubernetes version/);

  const mark = x.fake.calls.length;
  // Without a context for green, the run provisions green and stops before any traffic moves.
  let s = await aksUpgrade({ ...x.o, applyApp: undefined }, { to: "1.31.2" });
  assert.deepEqual([s.stage, s.phase], ["T1", "waiting-ready"]);
  assert.equal(x.version("green"), "1.31.2");
  assert.equal(x.agic("blue"), true);
  assert.ok(x.lines.some((l) => /re-run with --new-context/.test(l)));
  s = await aksUpgrade(x.o, { to: "1.31.2" });
  assert.deepEqual([s.stage, s.phase], ["T3", "standby"]);
  assert.equal(x.version("green"), "1.31.2");
  assert.deepEqual(x.applied, ["green"], "the app is applied to green with the kube target");
  assert.ok(
    x.kubectl.applied.some((a) => a.kind === "Deployment" && a.name === "webapp"),
    "the app's Deployment was applied",
  );
  assert.ok(existsSync(join(x.root, ".akspilot", "kube", "bluegreen.green.json")), "recorded as applied to cluster green");
  assert.equal(x.agic("green"), true);
  assert.equal(x.agic("blue"), false);
  const clusterPuts = x.fake.calls
    .slice(mark)
    .filter((c) => c.method === "PUT" && /managedClusters/.test(c.path))
    .map((c) => c.path.split("/").pop());
  assert.deepEqual(clusterPuts.slice(-2), ["aks-green-t3st01", "aks-blue-t3st01"], "AGIC enabled on green before it is disabled on blue");
  for (const r of ["UpgradeStarted", "GreenCreated", "GreenReady", "SmokeTestPassed", "SwitchingTraffic", "TrafficSwitched"])
    assert.ok(
      x.lines.some((l) => l.startsWith(r)),
      r,
    );
  await assert.rejects(aksUpgrade(x.o, { to: "1.32.0" }), /an upgrade to 1\.31\.2 is in progress/);

  // Rollback: AGIC back on blue first, then green deleted.
  const before = x.fake.calls.length;
  s = await aksRollback(x.o);
  assert.deepEqual([s.stage, s.phase], ["T0", "rolled-back"]);
  assert.equal(x.agic("blue"), true);
  assert.equal(x.cluster("green"), undefined, "green deleted");
  const after = x.fake.calls.slice(before);
  const putBlue = after.findIndex((c) => c.method === "PUT" && /managedClusters\/aks-blue-t3st01$/.test(c.path));
  const delGreen = after.findIndex((c) => c.method === "DELETE" && /managedClusters\/aks-green-t3st01$/.test(c.path));
  assert.ok(putBlue >= 0 && delGreen > putBlue, "AGIC is back on blue before green goes");

  // Again, finished: blue deleted, green serves alone.
  s = await aksUpgrade(x.o, { to: "1.31.2" });
  assert.equal(s.phase, "standby");
  s = await aksFinish(x.o);
  assert.deepEqual([s.stage, s.phase], ["T4", "finished"]);
  assert.equal(x.cluster("blue"), undefined);
  assert.equal(x.agic("green"), true);
  assert.equal(x.version("green"), "1.31.2");
  await assert.rejects(aksRollback(x.o), /nothing to roll back to/);
});

test("protocol: an upgrade stopped by a failed ARM operation resumes at the same phase on the next run", async (t) => {
  const x = setup(t);
  await deploy(x.provision);
  x.fake.failLro(/managedClusters\/aks-green-t3st01$/, "OperationNotAllowed", "Kubernetes version 1.31.2 is not available in this region right now.");
  await assert.rejects(aksUpgrade(x.o, { to: "1.31.2" }));
  const saved = JSON.parse(readFileSync(aksStatePath(x.root), "utf8")) as { stage: string; phase: string };
  assert.deepEqual([saved.stage, saved.phase], ["T1", "creating-green"]);
  assert.equal(x.agic("blue"), true, "traffic never left blue");
  const s = await aksUpgrade(x.o, { to: "1.31.2" });
  assert.deepEqual([s.stage, s.phase], ["T3", "standby"]);
  assert.ok(x.lines.some((l) => /resuming the upgrade to 1\.31\.2 at stage T1 \(creating-green\)/.test(l)));
  assert.equal(x.agic("green"), true);
  assert.ok(existsSync(aksStatePath(x.root)));
});
