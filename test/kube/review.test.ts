// What a Kubernetes and security review of the generated manifests checks: pinned images, bounded Jobs,
// tolerations the node pools call for, a budget for the consumer, one identity per role, the recommended
// labels on every object, and Airflow's namespace, DAG revision and secrets.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parseAllDocuments } from "yaml";
import type { Blueprint, Toleration } from "../../src/blueprints/types.js";
import { blueprintNames, getBlueprint } from "../../src/blueprints/index.js";
import { resolveConfig } from "../../src/kube/config.js";
import { renderBlueprint } from "../../src/kube/render.js";
import { podSpecOf } from "../../src/kube/validate.js";
import { AIRFLOW_APP_SECRETS } from "../../src/kube/external-secrets.js";
import { AKSPILOT_VERSION } from "../../src/version.js";
import { fixtureValues, render } from "./helpers.js";

type Doc = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: Record<string, unknown> };

/** Every document of every manifests file of a blueprint (all clusters). */
function docs(name: string, values = fixtureValues()): Doc[] {
  return render(name, values)
    .files.filter((f) => f.kind === "manifests")
    .flatMap((f) => parseAllDocuments(f.text).map((d) => d.toJS() as Doc));
}

/** Taints the kubelet itself puts on nodes in trouble; tolerating them bounds eviction, it selects no pool. */
const NODE_CONDITION = /^node\.kubernetes\.io\//;

/** Tolerations of the blueprint's apps that no agent pool or NodePool of its clusters carries a taint for. */
function strayTolerations(bp: Blueprint): string[] {
  const taints = bp.clusters.flatMap((c) => [...c.agentPools.flatMap((p) => p.taints ?? []), ...(c.nodePools ?? []).flatMap((np) => np.spec.template.spec.taints ?? [])]);
  const matches = (t: Toleration) => taints.some((x) => x.key === t.key && x.effect === t.effect && (t.operator === "Exists" || (x.value ?? "") === (t.value ?? "")));
  return bp.apps.flatMap((a) => a.tolerations.filter((t) => !NODE_CONDITION.test(t.key) && !matches(t)).map((t) => `${a.name}: ${t.key}=${t.value}:${t.effect}`));
}

test("every app toleration matches a taint a node pool of the blueprint carries", () => {
  let checked = 0;
  for (const name of blueprintNames()) {
    const bp = getBlueprint(name);
    checked += bp.apps.reduce((n, a) => n + a.tolerations.length, 0);
    assert.deepEqual(strayTolerations(bp), [], name);
  }
  assert.ok(checked >= 2, `checked ${checked} tolerations`);
  const edw = getBlueprint("edw");
  assert.ok(
    edw.apps[0]!.tolerations.some((t) => t.key === "deployment" && t.value === "aqs-app-pool"),
    "the consumer tolerates the apppool",
  );
  // The check sees a toleration for a pool that does not exist.
  edw.clusters[0]!.agentPools.find((p) => p.name === "apppool")!.taints = [{ key: "deployment", value: "other-pool", effect: "NoSchedule" }];
  assert.deepEqual(strayTolerations(edw), ["aqs-app: deployment=aqs-app-pool:NoSchedule", "aqs-producer: deployment=aqs-app-pool:NoSchedule"]);
});

test("images are pinned: the version tag by default, pulled IfNotPresent; never :latest with Always", () => {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  assert.equal(AKSPILOT_VERSION, pkg.version);
  const { tag: _tag, ...noTag } = fixtureValues();
  for (const name of blueprintNames()) {
    for (const d of docs(name, noTag)) {
      const pod = podSpecOf(d as unknown as Record<string, unknown>);
      for (const c of (pod?.spec.containers ?? []) as Array<{ image: string; imagePullPolicy: string }>) {
        assert.doesNotMatch(c.image, /:latest$|^[^:]+$/, `${name} ${d.kind} ${d.metadata.name}`);
        assert.equal(c.imagePullPolicy, "IfNotPresent", `${name} ${d.kind} ${d.metadata.name}`);
      }
    }
  }
  const consumer = docs("edw", noTag).find((d) => d.kind === "Deployment")!;
  assert.match(JSON.stringify(consumer), new RegExp(`/aws2azure/aqs-consumer:${AKSPILOT_VERSION.replace(/\./g, "\\.")}"`));
  // The seed's `latest` stays available, and then pods re-pull it.
  const latest = docs("edw", { ...fixtureValues(), tag: "latest" }).find((d) => d.kind === "Deployment")!;
  assert.match(JSON.stringify(latest), /"imagePullPolicy":"Always"/);
});

test("the producer Job is bounded: retries and running time", () => {
  const job = docs("edw").find((d) => d.kind === "Job")!;
  assert.equal(job.spec!.backoffLimit, 3);
  assert.equal(job.spec!.activeDeadlineSeconds, 86_400);
  const custom = docs("edw", { ...fixtureValues(), apps: { "aqs-producer": { backoffLimit: 0, activeDeadlineSeconds: 600 } } }).find((d) => d.kind === "Job")!;
  assert.deepEqual([custom.spec!.backoffLimit, custom.spec!.activeDeadlineSeconds], [0, 600]);
});

test("the consumer has a PodDisruptionBudget selecting its pods", () => {
  const all = docs("edw");
  const dep = all.find((d) => d.kind === "Deployment" && d.metadata.name === "aqs-app")!;
  const pdb = all.find((d) => d.kind === "PodDisruptionBudget")!;
  assert.equal(pdb.spec!.maxUnavailable, 1);
  const podLabels = (dep.spec!.template as { metadata: { labels: Record<string, string> } }).metadata.labels;
  for (const [k, v] of Object.entries((pdb.spec!.selector as { matchLabels: Record<string, string> }).matchLabels)) assert.equal(podLabels[k], v);
});

test("producer and consumer run as separate service accounts federated with separate identities", () => {
  const all = docs("edw");
  const accountOf = (kind: string) => (all.find((d) => d.kind === kind)!.spec!.template as { spec: { serviceAccountName: string } }).spec.serviceAccountName;
  const consumerSa = accountOf("Deployment");
  const producerSa = accountOf("Job");
  assert.notEqual(consumerSa, producerSa);
  const clientId = (sa: string) => all.find((d) => d.kind === "ServiceAccount" && d.metadata.name === sa)!.metadata.annotations!["azure.workload.identity/client-id"];
  assert.equal(clientId(consumerSa), fixtureValues().workloadIdentityClientId);
  assert.equal(clientId(producerSa), fixtureValues().producerIdentityClientId);
  // The seed's shared account remains one override away, and then only one identity is needed.
  const seedLike = docs("edw", { ...fixtureValues(), apps: { "aqs-producer": { serviceAccountName: "aqs-app-service-account" } } });
  assert.deepEqual(
    seedLike.filter((d) => d.kind === "ServiceAccount").map((d) => d.metadata.name),
    ["aqs-app-service-account"],
  );
});

test("every object and pod carries app.kubernetes.io/name, part-of and managed-by", () => {
  for (const name of blueprintNames()) {
    for (const d of docs(name)) {
      const where = `${name}: ${d.kind} ${d.metadata.name}`;
      const labels = d.metadata.labels ?? {};
      assert.ok(labels["app.kubernetes.io/name"], `${where}: name`);
      assert.equal(labels["app.kubernetes.io/part-of"], name, `${where}: part-of`);
      assert.equal(labels["app.kubernetes.io/managed-by"], "akspilot", `${where}: managed-by`);
      const pod = podSpecOf(d as unknown as Record<string, unknown>);
      if (pod) assert.equal((d.spec!.template as { metadata: { labels: Record<string, string> } }).metadata.labels["app.kubernetes.io/part-of"], name, `${where}: pod labels`);
    }
  }
});

test("airflow: restricted Pod Security enforced, DAGs at a pinned revision, secrets from Key Vault", () => {
  const ns = docs("airflow").find((d) => d.kind === "Namespace")!;
  assert.equal(ns.metadata.labels!["pod-security.kubernetes.io/enforce"], "restricted");

  // biome-ignore lint/suspicious/noExplicitAny: Helm chart values are untyped YAML read field by field below
  const values = (v = fixtureValues()) => parseAllDocuments(render("airflow", v).files.find((f) => f.kind === "helm-values")!.text)[0]!.toJS() as Record<string, any>;
  const v = values();
  assert.equal(v.dags.gitSync.rev, fixtureValues().airflow!.dagsRev);
  // Without a revision, the output carries a placeholder and deploy refuses; HEAD only when asked for.
  const { dagsRev: _rev, ...noRev } = fixtureValues().airflow!;
  const unpinned = renderBlueprint(getBlueprint("airflow"), resolveConfig({ ...fixtureValues(), airflow: noRev }));
  assert.ok(unpinned.missing.includes("airflow.dagsRev"));
  assert.doesNotMatch(unpinned.files.find((f) => f.kind === "helm-values")!.text, /rev: HEAD/);

  // Each Secret the chart is pointed at is written by an ExternalSecret from Key Vault, with the key the chart reads.
  const written = new Map(
    docs("airflow")
      .filter((d) => d.kind === "ExternalSecret")
      .map((d) => {
        const spec = d.spec as { target: { name: string }; data: Array<{ secretKey: string }> };
        return [spec.target.name, spec.data.map((x) => x.secretKey)] as const;
      }),
  );
  const wanted: Array<[string, string]> = [
    [v.data.metadataSecretName, "connection"],
    [v.fernetKeySecretName, "fernet-key"],
    [v.webserverSecretKeySecretName, "webserver-secret-key"],
    [v.postgresql.auth.existingSecret, "postgres-password"],
    [v.pgbouncer.configSecretName, "pgbouncer.ini"],
    [v.pgbouncer.configSecretName, "users.txt"],
    [v.pgbouncer.metricsExporterSidecar.statsSecretName, "connection"],
  ];
  for (const [secret, key] of wanted) assert.ok(written.get(secret)?.includes(key), `${secret}/${key} comes from Key Vault`);
  assert.equal(Object.keys(AIRFLOW_APP_SECRETS).length, new Set(wanted.map(([s]) => s)).size);

  // The seed's chart-made secrets stay one value away.
  const seedLike = values({ ...fixtureValues(), airflow: { ...fixtureValues().airflow, chartManagedSecrets: true } });
  assert.equal(seedLike.fernetKeySecretName, undefined);
  assert.equal(seedLike.postgresql.auth, undefined);
  assert.equal(docs("airflow", { ...fixtureValues(), airflow: { ...fixtureValues().airflow, chartManagedSecrets: true } }).filter((d) => d.kind === "ExternalSecret").length, 1);
});
