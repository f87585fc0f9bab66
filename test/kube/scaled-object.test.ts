import assert from "node:assert/strict";
import { test } from "node:test";
import { parseAllDocuments } from "yaml";
import { getBlueprint } from "../../src/blueprints/index.js";
import { seedScaledObject } from "../../src/blueprints/edw.js";
import { resolveConfig, Settings } from "../../src/kube/config.js";
import { bindScaledObject } from "../../src/kube/scaled-object.js";
import { toYaml } from "../../src/kube/yaml.js";
import { fixtureValues, render } from "./helpers.js";

function emittedDocs(name: string) {
  return parseAllDocuments(render(name).files[0]!.text).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, unknown> });
}

test("round-trip: the emitted ScaledObject is byte-for-byte the blueprint's, bound to the configured account and cloud", () => {
  const text = render("edw").files[0]!.text;
  const chunks = text.split(/^---\n/m);
  const emitted = chunks.find((c) => c.startsWith("apiVersion: keda.sh/v1alpha1\nkind: ScaledObject"));
  assert.ok(emitted, "a ScaledObject document is emitted");
  // What the local autoscaler obeys: the blueprint's object, bound by the same function.
  const local = bindScaledObject(getBlueprint("edw").scaledObject!, new Settings(resolveConfig(fixtureValues())));
  // The manifest adds akspilot's labels and nothing else.
  const labels = { "app.kubernetes.io/name": "aqs-app", "app.kubernetes.io/part-of": "edw", "app.kubernetes.io/managed-by": "akspilot" };
  assert.equal(emitted, toYaml({ ...local, metadata: { ...local.metadata, labels } }));
  // And that object is the seed's, with only accountName and cloud filled in.
  assert.deepEqual(local, seedScaledObject("storaksdemo1a2b3c", "AzurePublicCloud"));
});

test("round-trip: parsed ScaledObject values equal the seed's numbers", () => {
  const so = emittedDocs("edw").find((d) => d.kind === "ScaledObject")!;
  assert.equal(so.metadata.name, "aws2az-queue-scaleobj");
  assert.deepEqual(
    { min: so.spec.minReplicaCount, max: so.spec.maxReplicaCount, polling: so.spec.pollingInterval, cooldown: so.spec.cooldownPeriod },
    { min: 0, max: 15, polling: 30, cooldown: 10 },
  );
  const trigger = (so.spec.triggers as Array<{ type: string; metadata: Record<string, string>; authenticationRef: { name: string } }>)[0]!;
  assert.equal(trigger.type, "azure-queue");
  assert.deepEqual(trigger.metadata, {
    queueName: "aws2azmsgs",
    accountName: "storaksdemo1a2b3c",
    queueLength: "5",
    activationQueueLength: "20",
    cloud: "AzurePublicCloud",
  });
  const auth = emittedDocs("edw").find((d) => d.kind === "TriggerAuthentication")!;
  assert.equal(auth.metadata.name, trigger.authenticationRef.name);
  assert.deepEqual(auth.spec, { podIdentity: { provider: "azure-workload", identityId: "11111111-2222-3333-4444-555555555555" } });
});

test("round-trip: consumer Deployment carries the seed's numbers and outlives the visibility timeout", () => {
  const docs = emittedDocs("edw");
  const d = docs.find((x) => x.kind === "Deployment" && x.metadata.name === "aqs-app")!;
  const pod = d.spec.template as { metadata: { labels: Record<string, string> }; spec: Record<string, unknown> };
  assert.equal(pod.metadata.labels["azure.workload.identity/use"], "true");
  assert.equal(pod.spec.serviceAccountName, "aqs-app-service-account");
  const c = (pod.spec.containers as Array<Record<string, unknown>>)[0]!;
  assert.deepEqual(c.resources, { requests: { cpu: "250m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } });
  assert.deepEqual(
    (c.env as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]),
    [
      ["AZURE_QUEUE_NAME", "aws2azmsgs"],
      ["AZURE_TABLE_NAME", "aws2azpmts"],
      ["AZURE_STORAGE_ACCOUNT_NAME", "storaksdemo1a2b3c"],
    ],
  );
  assert.ok((pod.spec.terminationGracePeriodSeconds as number) > 60, "grace period longer than the 60 s visibility timeout");
  assert.deepEqual(pod.spec.tolerations, [{ key: "deployment", operator: "Equal", value: "aqs-app-pool", effect: "NoSchedule" }]);
  // KEDA owns the replica count of its target.
  assert.equal(d.spec.replicas, undefined);
  const np = docs.find((x) => x.kind === "NodePool")!;
  assert.deepEqual(np.spec, getBlueprint("edw").clusters[0]!.nodePools![0]!.spec);
});

test("round-trip: resilient-web keeps seed 001's replicas, tolerations and liveness probe", () => {
  const docs = emittedDocs("resilient-web");
  const d = docs.find((x) => x.kind === "Deployment")!;
  assert.equal(d.spec.replicas, 4);
  const pod = (d.spec.template as { spec: Record<string, unknown> }).spec;
  assert.deepEqual(
    (pod.tolerations as Array<{ key: string; tolerationSeconds: number }>).map((t) => [t.key, t.tolerationSeconds]),
    [
      ["node.kubernetes.io/unreachable", 1],
      ["node.kubernetes.io/not-ready", 1],
    ],
  );
  const c = (pod.containers as Array<{ livenessProbe: Record<string, unknown>; readinessProbe?: unknown }>)[0]!;
  assert.deepEqual(c.livenessProbe, { httpGet: { path: "/", port: "http", scheme: "HTTP" }, initialDelaySeconds: 10, periodSeconds: 1, timeoutSeconds: 3, failureThreshold: 3 });
  assert.ok(c.readinessProbe);
  const svc = docs.find((x) => x.kind === "Service")!;
  assert.equal(svc.spec.type, "LoadBalancer");
  assert.deepEqual(svc.spec.ports, [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }]);
  assert.ok(docs.find((x) => x.kind === "PodDisruptionBudget"));
});
