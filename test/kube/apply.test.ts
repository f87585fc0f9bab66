import assert from "node:assert/strict";
import { scratchDir } from "../scratch.js";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { UserError } from "../../src/errors.js";
import { applyToAks } from "../../src/kube/apply.js";
import { KubectlNotFound, systemKubectl, type Kubectl } from "../../src/kube/kubectl.js";
import { inApplyOrder, kindRank } from "../../src/kube/object.js";
import type { ApplyRecord } from "../../src/kube/record.js";
import { render, sourcePath } from "./helpers.js";

const VALUES = sourcePath("fixtures", "values.yaml");

/**
 * FAKE CLUSTER: an in-memory stand-in for kubectl, used only to test akspilot's own logic (order, change
 * report, CRD checks, the recorded set, destroy). It does not check that a real API server accepts the
 * objects: no API server can be installed on the development machines.
 */
function fakeKubectl(opts: { crds?: string[]; existing?: string[]; down?: boolean } = {}) {
  const store = new Map<string, { rv: number; body: string }>(opts.existing?.map((k) => [k, { rv: 1, body: "" }]) ?? []);
  const calls: string[][] = [];
  let rv = 100;
  const keyOf = (resource: string, args: string[]) => {
    const ns = args.includes("-n") ? args[args.indexOf("-n") + 1] : "";
    return `${ns}/${resource}`;
  };
  const run: Kubectl = async (args, stdin) => {
    calls.push(args);
    if (opts.down) return { code: 1, stdout: "", stderr: "The connection to the server localhost:8080 was refused - did you specify the right host or port?\n" };
    const [verb] = args;
    if (args.includes("--raw")) return { code: 0, stdout: '{"gitVersion":"v1.30.0"}', stderr: "" };
    if (verb === "get" && args[1] === "customresourcedefinitions.apiextensions.k8s.io") {
      return { code: 0, stdout: opts.crds?.includes(args[2]!) ? `customresourcedefinition.apiextensions.k8s.io/${args[2]}\n` : "", stderr: "" };
    }
    if (verb === "get") return { code: 0, stdout: String(store.get(keyOf(args[1]!, args))?.rv ?? ""), stderr: "" };
    if (verb === "apply") {
      const o = JSON.parse(stdin!) as { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
      const group = o.apiVersion.includes("/") ? `.${o.apiVersion.split("/")[0]}` : "";
      const key = `${o.metadata.namespace ?? ""}/${o.kind.toLowerCase()}${group}/${o.metadata.name}`;
      const prev = store.get(key);
      if (!prev || prev.body !== stdin) store.set(key, { rv: ++rv, body: stdin! });
      return { code: 0, stdout: String(store.get(key)!.rv), stderr: "" };
    }
    if (verb === "rollout") return { code: 0, stdout: "successfully rolled out\n", stderr: "" };
    if (verb === "delete") {
      store.delete(keyOf(args[1]!, args));
      return { code: 0, stdout: "", stderr: "" };
    }
    return { code: 1, stdout: "", stderr: `fake kubectl: unexpected ${args.join(" ")}` };
  };
  return { run, calls, store };
}

const ALL_CRDS = ["triggerauthentications.keda.sh", "scaledobjects.keda.sh", "aksnodeclasses.karpenter.azure.com", "nodepools.karpenter.sh"];

async function expectUserError(p: Promise<unknown>, pattern: RegExp): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.ok(!e.line().includes("\n"));
    assert.match(e.line(), pattern);
    return e.line();
  }
  assert.fail("expected an error");
}

test("apply order: namespace and identities first, CRD-backed objects after what they point to", () => {
  const kinds = render("edw", undefined).objects.map((o) => o.kind);
  assert.deepEqual(kinds, [
    "Namespace",
    "ServiceAccount",
    "ServiceAccount",
    "Deployment",
    "Job",
    "PodDisruptionBudget",
    "TriggerAuthentication",
    "ScaledObject",
    "AKSNodeClass",
    "NodePool",
  ]);
  const airflow = render("airflow").objects.map((o) => o.kind);
  assert.deepEqual(airflow, ["Namespace", "ServiceAccount", "SecretStore", ...Array(7).fill("ExternalSecret"), "PersistentVolume", "PersistentVolumeClaim"]);
  assert.ok(kindRank("Role") < kindRank("Deployment"));
  assert.deepEqual(
    inApplyOrder([{ kind: "NodePool" }, { kind: "Namespace" }, { kind: "Deployment" }]).map((o) => o.kind),
    ["Namespace", "Deployment", "NodePool"],
  );
});

const kubectlOnPath = (process.env.PATH ?? "").split(":").some((d) => d && existsSync(join(d, "kubectl")));

test("no cluster (real kubectl, unreachable server): deploy says so in one line", { skip: kubectlOnPath ? false : "kubectl not installed" }, async () => {
  const dir = scratchDir("akspilot-kube-");
  const kubeconfig = join(dir, "config");
  writeFileSync(
    kubeconfig,
    "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: nowhere, context: {cluster: c, user: u}}]\ncurrent-context: nowhere\n",
  );
  const saved = process.env.KUBECONFIG;
  process.env.KUBECONFIG = kubeconfig;
  try {
    const line = await expectUserError(
      applyToAks({ blueprint: "resilient-web", dryRun: false, out: () => {}, valuesFile: VALUES, stateDir: dir, context: "nowhere" }),
      /^no reachable Kubernetes cluster for context "nowhere": .*127\.0\.0\.1:1.* — fetch credentials with az aks get-credentials/,
    );
    assert.ok(line.length < 400);
  } finally {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
  }
  assert.equal(existsSync(join(dir, "resilient-web.json")), false, "nothing recorded");
});

test("no kubectl on PATH: one line saying so", async () => {
  const missing = systemKubectl(undefined, "kubectl-that-does-not-exist");
  await assert.rejects(missing(["version"]), KubectlNotFound);
  await expectUserError(
    applyToAks({ blueprint: "resilient-web", dryRun: false, out: () => {}, valuesFile: VALUES, stateDir: scratchDir("akspilot-kube-"), kubectl: missing }),
    /^kubectl is not installed/,
  );
});

test("deploy refuses placeholders; dry run lists the plan without touching a cluster", async () => {
  const fake = fakeKubectl();
  await expectUserError(
    applyToAks({ blueprint: "edw", dryRun: false, out: () => {}, kubectl: fake.run, stateDir: scratchDir("akspilot-kube-") }),
    /^values missing for edw: producerIdentityClientId, registry, storageAccountName, workloadIdentityClientId — set them/,
  );
  const lines: string[] = [];
  await applyToAks({ blueprint: "edw", dryRun: true, out: (l) => lines.push(l), kubectl: fake.run });
  assert.equal(fake.calls.length, 0);
  assert.equal(lines[1], "  Namespace aqs-demo");
  assert.ok(lines.some((l) => l.includes("scaledobjects.keda.sh")));
});

test("FAKE CLUSTER: a missing KEDA add-on is reported before anything is applied", async () => {
  const fake = fakeKubectl({ crds: ["nodepools.karpenter.sh", "aksnodeclasses.karpenter.azure.com"] });
  await expectUserError(
    applyToAks({ blueprint: "edw", dryRun: false, out: () => {}, valuesFile: VALUES, kubectl: fake.run, stateDir: scratchDir("akspilot-kube-") }),
    /^KEDA is not installed on this cluster \(CRD triggerauthentications\.keda\.sh is missing\) — enable the AKS KEDA add-on: az aks update .* --enable-keda/,
  );
  assert.equal(fake.calls.filter((c) => c[0] === "apply").length, 0);
});

test("FAKE CLUSTER: deploy applies in order, reports changes, records the set; destroy removes only what it created", async () => {
  const dir = scratchDir("akspilot-kube-");
  // NAP creates its own default NodePool: applying it takes it over, but destroy must leave it.
  const fake = fakeKubectl({ crds: ALL_CRDS, existing: ["/nodepool.karpenter.sh/default"] });
  const lines: string[] = [];
  await applyToAks({ blueprint: "edw", dryRun: false, out: (l) => lines.push(l), valuesFile: VALUES, kubectl: fake.run, stateDir: dir });
  const applied = fake.calls.filter((c) => c[0] === "apply");
  assert.equal(applied.length, 10);
  assert.ok(applied.every((c) => c.includes("--server-side") && c.includes("--field-manager=akspilot")));
  assert.ok(lines.includes("  created    Deployment aqs-demo/aqs-app"));
  assert.ok(lines.includes("  configured NodePool default"));
  assert.ok(lines.includes("9 created, 1 configured, 0 unchanged; recorded in " + join(dir, "edw.json")));
  assert.ok(
    fake.calls.some((c) => c[0] === "rollout" && c.includes("deployment.apps/aqs-app")),
    "waits for the rollout",
  );

  const record = JSON.parse(readFileSync(join(dir, "edw.json"), "utf8")) as ApplyRecord;
  assert.deepEqual(
    record.objects.map((o) => [o.kind, o.name, o.created]),
    [
      ["Namespace", "aqs-demo", true],
      ["ServiceAccount", "aqs-app-service-account", true],
      ["ServiceAccount", "aqs-producer-service-account", true],
      ["Deployment", "aqs-app", true],
      ["Job", "aqs-producer", true],
      ["PodDisruptionBudget", "aqs-app-pdb", true],
      ["TriggerAuthentication", "keda-az-credentials", true],
      ["ScaledObject", "aws2az-queue-scaleobj", true],
      ["AKSNodeClass", "default", true],
      ["NodePool", "default", false],
    ],
  );

  // Re-applying the same objects changes nothing, and keeps knowing what it created.
  lines.length = 0;
  await applyToAks({ blueprint: "edw", dryRun: false, out: (l) => lines.push(l), valuesFile: VALUES, kubectl: fake.run, stateDir: dir });
  assert.ok(lines.includes("0 created, 0 configured, 10 unchanged; recorded in " + join(dir, "edw.json")));
  assert.equal((JSON.parse(readFileSync(join(dir, "edw.json"), "utf8")) as ApplyRecord).objects.filter((o) => o.created).length, 9);

  lines.length = 0;
  fake.calls.length = 0;
  await applyToAks({ blueprint: "edw", dryRun: false, destroy: true, out: (l) => lines.push(l), kubectl: fake.run, stateDir: dir });
  const deletes = fake.calls.filter((c) => c[0] === "delete").map((c) => c[1]);
  assert.deepEqual(deletes, [
    "aksnodeclass.karpenter.azure.com/default",
    "scaledobject.keda.sh/aws2az-queue-scaleobj",
    "triggerauthentication.keda.sh/keda-az-credentials",
    "poddisruptionbudget.policy/aqs-app-pdb",
    "job.batch/aqs-producer",
    "deployment.apps/aqs-app",
    "serviceaccount/aqs-producer-service-account",
    "serviceaccount/aqs-app-service-account",
    "namespace/aqs-demo",
  ]);
  assert.ok(lines.some((l) => l.startsWith("  kept       NodePool default")));
  assert.equal(existsSync(join(dir, "edw.json")), false, "the record is removed");
  assert.ok(fake.store.has("/nodepool.karpenter.sh/default"));

  await expectUserError(
    applyToAks({ blueprint: "edw", dryRun: false, destroy: true, out: () => {}, kubectl: fake.run, stateDir: dir }),
    /^nothing to destroy: no record of applying edw/,
  );
});

test("FAKE CLUSTER: bluegreen deploys to the chosen cluster and names the AGIC step", async () => {
  const dir = scratchDir("akspilot-kube-");
  const fake = fakeKubectl();
  const lines: string[] = [];
  await applyToAks({ blueprint: "bluegreen", cluster: "green", dryRun: false, out: (l) => lines.push(l), valuesFile: VALUES, kubectl: fake.run, stateDir: dir });
  assert.ok(existsSync(join(dir, "bluegreen.green.json")));
  assert.ok(lines[0]!.includes("(cluster green)"));
  // green is standby: no AGIC install is suggested for it.
  assert.equal(
    lines.some((l) => l.startsWith("next: helm")),
    false,
  );
});
