// Protocol tests of `akspilot drill node-failure --target aks` against the in-process ARM fake (not Azure): the
// cluster's node resource group and scale set are found, nothing is stopped without --yes, one instance is
// powered off and always started again — after the drill, after an error mid-drill, after an interruption
// (what Ctrl-C does: the CLI turns SIGINT into the drill's abort signal). The load goes to a real loopback
// server standing in for the Service's public address.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { FakeArm } from "./fake-arm.js";
import { VmssClient } from "../../src/provisioning/azure/vmss.js";
import { aksNodeFailureDrill, type AksNodeFailureOptions } from "../../src/local/drill/aks-node-failure.js";
import { createHelloServer } from "../../src/apps/hello/server.js";
import { UserError } from "../../src/errors.js";
import type { Kubectl } from "../../src/kube/kubectl.js";
import { runCli, tempDir } from "../edw/helpers.js";

const VMSS = "aks-nodepool1-12345671-vmss";

async function setup(t: { after: (fn: () => void | Promise<void>) => void }) {
  const fake = new FakeArm();
  fake.seedAksCluster("rg-web", "aks-web", [
    { name: "systempool", mode: "System", instances: 1 },
    { name: "nodepool1", mode: "User", instances: 2 },
  ]);
  const arm = new VmssClient({ credential: fake.credentialFor(), subscriptionId: fake.subscriptionId, cloud: "AzurePublicCloud", httpClient: fake.httpClient }, 1);
  const srv: Server = createHelloServer({ host: "aks-web-pod" });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  t.after(
    () =>
      new Promise<void>((r) => {
        srv.close(() => r());
        srv.closeAllConnections();
      }),
  );
  const lines: string[] = [];
  const ac = new AbortController();
  const opts: AksNodeFailureOptions = {
    arm,
    cluster: "aks-web",
    resourceGroup: "rg-web",
    yes: true,
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/`,
    rate: 20,
    durationSeconds: 0.5,
    requestTimeoutMs: 2000,
    restoreTimeoutSeconds: 5,
    signal: ac.signal,
    progress: (l) => lines.push(l),
  };
  const instance = (id: string) =>
    fake.resources.get(
      `/subscriptions/${fake.subscriptionId}/resourcegroups/mc_rg-web_aks-web_westus3/providers/microsoft.compute/virtualmachinescalesets/${VMSS}/virtualmachines/${id}`,
    );
  return { fake, opts, lines, ac, instance };
}

test("protocol: without --yes the drill names the instance it would stop and changes nothing", async (t) => {
  const { fake, opts } = await setup(t);
  await assert.rejects(aksNodeFailureDrill({ ...opts, yes: false }), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.equal(
      e.line(),
      `the drill would power off instance 0 (${VMSS}000000) of scale set ${VMSS} (node pool nodepool1) in MC_rg-web_aks-web_westus3 — add --yes to run it (the instance is started again at the end)`,
    );
    return true;
  });
  assert.deepEqual(
    fake.calls.filter((c) => c.method !== "GET"),
    [],
    "no power action, no write",
  );
  // What it read: the cluster (its node resource group and pools), the scale sets there, the pool's instances.
  assert.deepEqual(
    fake.calls.map((c) => c.path.split("/").slice(-2).join("/")),
    ["managedClusters/aks-web", "Microsoft.Compute/virtualMachineScaleSets", `${VMSS}/virtualMachines`],
  );
  assert.ok(
    fake.calls.every((c) => c.apiVersion),
    "every call carries api-version",
  );
});

test("protocol: with --yes one instance of the user pool is powered off, then started again; the load is counted", { timeout: 30_000 }, async (t) => {
  const { fake, opts, lines, instance } = await setup(t);
  let offSeen: unknown;
  const report = await aksNodeFailureDrill({
    ...opts,
    progress: (l) => {
      lines.push(l);
      if (/is powered off/.test(l)) offSeen = instance("0")?.powerState;
    },
  });
  assert.equal(offSeen, "stopped", "the instance was off while the drill waited");
  assert.deepEqual(fake.powerActions(), [`poweroff ${VMSS} ["0"]`, `start ${VMSS} ["0"]`]);
  assert.equal(instance("0")?.powerState, "running");
  assert.equal(instance("1")?.powerState, "running", "only the named instance was touched");
  assert.equal(report.mode, "aks");
  assert.equal(report.node, `${VMSS}000000`);
  assert.equal(report.failed, 0);
  assert.ok(report.requests >= 20, `requests: ${report.requests}`);
  assert.equal(report.replicasRestoredSeconds, null, "no --deployment: replicas not watched");
  assert.ok(lines.some((l) => l.startsWith("drill node-failure (aks): 20 req/s at http://127.0.0.1:")));
});

test("protocol: the instance is started again after an error mid-drill and after a failed power-off", { timeout: 30_000 }, async (t) => {
  const { fake, opts, instance } = await setup(t);
  // kubectl fails once the instance is off: the drill ends with that error, and starts the instance first.
  const kubectl: Kubectl = async (args) => {
    if (instance("0")?.powerState === "stopped") return { code: 1, stdout: "", stderr: "error: You must be logged in to the server (Unauthorized)\n" };
    return { code: 0, stdout: JSON.stringify(args[1] === "deployment" ? { spec: { replicas: 2, selector: { matchLabels: { app: "helloworld" } } } } : { items: [] }), stderr: "" };
  };
  await assert.rejects(aksNodeFailureDrill({ ...opts, deployment: "helloworld", kubectl }), /kubectl get deployment helloworld -n default failed: error: You must be logged in/);
  assert.deepEqual(fake.powerActions(), [`poweroff ${VMSS} ["0"]`, `start ${VMSS} ["0"]`]);
  assert.equal(instance("0")?.powerState, "running");

  // ARM refuses the power-off (it may still have been partly done): start is asked for all the same.
  fake.failWith("POST", /\/poweroff$/, 409, "OperationNotAllowed", "Operation 'powerOff' is not allowed since the scale set is being updated.");
  await assert.rejects(aksNodeFailureDrill(opts), /OperationNotAllowed/);
  assert.deepEqual(fake.powerActions().slice(2), [`start ${VMSS} ["0"]`]);
  assert.ok(fake.calls.some((c) => c.method === "POST" && c.path.endsWith("/poweroff") && c.status === 409));
});

test("protocol: interrupted (Ctrl-C) while the instance is off: it is started again, and the drill says so", { timeout: 30_000 }, async (t) => {
  const { fake, opts, ac, instance } = await setup(t);
  const run = aksNodeFailureDrill({
    ...opts,
    durationSeconds: 600,
    progress: (l) => {
      if (/is powered off/.test(l)) setTimeout(() => ac.abort(), 200);
    },
  });
  await assert.rejects(run, (e: unknown) => e instanceof UserError && e.line() === `drill interrupted; instance 0 (${VMSS}000000) was started again — run it again to get figures`);
  assert.deepEqual(fake.powerActions(), [`poweroff ${VMSS} ["0"]`, `start ${VMSS} ["0"]`]);
  assert.equal(instance("0")?.powerState, "running");
});

test("protocol: --deployment waits until the replicas are Ready off the stopped node (kubectl stand-in)", { timeout: 30_000 }, async (t) => {
  const { fake, opts } = await setup(t);
  const node0 = `${VMSS}000000`;
  let polls = 0;
  const pod = (node: string, ready: boolean) => ({
    metadata: { name: `hw-${node.slice(-1)}-${polls}` },
    spec: { nodeName: node },
    status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  });
  const kubectl: Kubectl = async (args) => {
    if (args[1] === "deployment") return { code: 0, stdout: JSON.stringify({ spec: { replicas: 2, selector: { matchLabels: { app: "helloworld" } } } }), stderr: "" };
    assert.deepEqual(args, ["get", "pods", "-n", "default", "-l", "app=helloworld", "-o", "json"]);
    polls++;
    // The first polls still see a Ready pod on the stopped node; then its replacement is Ready elsewhere.
    const items = polls < 3 ? [pod(node0, true), pod(`${VMSS}000001`, true)] : [pod(`${VMSS}000001`, true), pod(`${VMSS}000001`, true)];
    return { code: 0, stdout: JSON.stringify({ items }), stderr: "" };
  };
  const report = await aksNodeFailureDrill({ ...opts, deployment: "helloworld", kubectl, durationSeconds: 0 });
  assert.ok(polls >= 3);
  assert.equal(report.replicasOnNode, 1, "the stopped instance held one of the two replicas");
  assert.equal(typeof report.replicasRestoredSeconds, "number");
  assert.deepEqual(fake.powerActions(), [`poweroff ${VMSS} ["0"]`, `start ${VMSS} ["0"]`]);
});

test("drill --target aks: missing cluster or a bad target is one clear line, before any Azure call", async (t) => {
  const cwd = tempDir(t, "akspilot-aksdrill-");
  const a = await runCli(t, ["drill", "node-failure", "--target", "aks", "--yes"], { cwd });
  assert.equal(a.code, 2);
  assert.equal(a.stderr.trim(), "akspilot: --target aks needs --cluster <name> and --resource-group <rg> — name the AKS cluster to drill");
  const b = await runCli(t, ["drill", "node-failure", "--target", "gke"], { cwd });
  assert.equal(b.code, 2);
  assert.match(b.stderr.trim(), /^akspilot: --target must be local or aks, got "gke"/);
  assert.equal(b.stderr.trim().split("\n").length, 1);
});
