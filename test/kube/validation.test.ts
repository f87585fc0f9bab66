import assert from "node:assert/strict";
import { scratchDir } from "../scratch.js";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { getBlueprint } from "../../src/blueprints/index.js";
import { UserError } from "../../src/errors.js";
import { resolveConfig } from "../../src/kube/config.js";
import { renderBlueprint } from "../../src/kube/render.js";
import { checkValues, loadValuesFile } from "../../src/kube/values.js";
import { quantityValue } from "../../src/kube/validate.js";
import { fixtureValues } from "./helpers.js";

function userErrorLine(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.ok(!e.line().includes("\n"), "the message is one line");
    return e.line();
  }
  assert.fail("expected an error");
}

test("values: an unknown field is rejected with its path", () => {
  const line = userErrorLine(() => checkValues({ registry: "acr", apps: { "aqs-app": { replica: 3 } } }, "values.yaml"));
  assert.match(line, /^values\.yaml: unknown field apps\.aqs-app\.replica/);
  assert.match(
    userErrorLine(() => checkValues({ storageAcount: "x" }, "v.yaml")),
    /unknown field storageAcount/,
  );
});

test("values: a negative replica count is rejected with its path", () => {
  assert.match(
    userErrorLine(() => checkValues({ apps: { "aqs-app": { replicas: -1 } } }, "v.yaml")),
    /v\.yaml: apps\.aqs-app\.replicas must be >= 0/,
  );
});

test("values: a bad quantity is rejected with its path", () => {
  const line = userErrorLine(() => checkValues({ apps: { "aqs-app": { resources: { limits: { cpu: "lots" } } } } }, "v.yaml"));
  assert.match(line, /apps\.aqs-app\.resources\.limits\.cpu has an invalid value \(expected a Kubernetes quantity/);
});

test("values: wrong types and enums name the field", () => {
  assert.match(
    userErrorLine(() => checkValues({ cloud: "Mars" }, "v.yaml")),
    /cloud must be one of AzurePublicCloud, AzureChinaCloud/,
  );
  assert.match(
    userErrorLine(() => checkValues({ workloadIdentityClientId: "nope" }, "v.yaml")),
    /workloadIdentityClientId has an invalid value \(expected a GUID\)/,
  );
});

test("values: a file that is not YAML, or missing, gives one line", () => {
  const dir = scratchDir("akspilot-values-");
  const bad = join(dir, "bad.yaml");
  writeFileSync(bad, "registry: [unclosed\n");
  assert.match(
    userErrorLine(() => loadValuesFile(bad)),
    /bad\.yaml is not valid YAML/,
  );
  assert.match(
    userErrorLine(() => loadValuesFile(join(dir, "missing.yaml"))),
    /cannot read values file/,
  );
});

test("values: overrides for an app the blueprint lacks are rejected", () => {
  const line = userErrorLine(() => renderBlueprint(getBlueprint("edw"), resolveConfig({ apps: { "aqs-ap": { replicas: 2 } } })));
  assert.match(line, /apps\.aqs-ap does not name an app of blueprint edw — apps are: aqs-app, aqs-producer/);
});

test("objects: a negative replica count in a blueprint names the object and field", () => {
  const bp = getBlueprint("resilient-web");
  bp.apps[0]!.replicas = -2;
  assert.match(
    userErrorLine(() => renderBlueprint(bp, resolveConfig(fixtureValues()))),
    /^Deployment helloworld\/helloworld: spec\.replicas must be >= 0 \(got -2\)/,
  );
});

test("objects: a bad quantity in a blueprint is caught by the model's schema, naming object and field", () => {
  const bp = getBlueprint("edw");
  bp.apps[0]!.resources.limits.cpu = "lots";
  assert.match(
    userErrorLine(() => renderBlueprint(bp, resolveConfig(fixtureValues()))),
    /^Deployment aqs-demo\/aqs-app: spec\.template\.spec\.containers\[0\]\.resources\.limits\.cpu must be a quantity/,
  );
});

test("objects: a ScaledObject trigger value of the wrong type is caught by the KEDA model", () => {
  const bp = getBlueprint("edw");
  (bp.scaledObject!.spec.triggers[0]!.metadata as Record<string, unknown>).queueLength = 5;
  assert.match(
    userErrorLine(() => renderBlueprint(bp, resolveConfig(fixtureValues()))),
    /^ScaledObject aqs-demo\/aws2az-queue-scaleobj: spec\.triggers\[0\]\.metadata\.queueLength must be string/,
  );
});

test("objects: requests above limits and bad names are rejected", () => {
  const bp = getBlueprint("edw");
  bp.apps[0]!.resources.requests.memory = "1Gi";
  assert.match(
    userErrorLine(() => renderBlueprint(bp, resolveConfig(fixtureValues()))),
    /resources\.requests\.memory \(1Gi\) must not exceed limits\.memory \(128Mi\)/,
  );
  const bp2 = getBlueprint("resilient-web");
  bp2.apps[0]!.name = "Hello_World";
  assert.match(
    userErrorLine(() => renderBlueprint(bp2, resolveConfig(fixtureValues()))),
    /metadata\.name "Hello_World" must be a lowercase DNS name/,
  );
});

test("objects: a misspelt field in a CRD without a model is rejected by its schema", () => {
  const bp = getBlueprint("airflow");
  bp.airflow!.refreshInterval = "one hour";
  assert.match(
    userErrorLine(() => renderBlueprint(bp, resolveConfig(fixtureValues()))),
    /^ExternalSecret airflow\/airflow-aks-azure-logs-secrets: spec\.refreshInterval must match pattern/,
  );
});

test("clusters: --cluster is checked against the blueprint", () => {
  assert.match(
    userErrorLine(() => renderBlueprint(getBlueprint("bluegreen"), resolveConfig({}), { cluster: "purple" })),
    /has no cluster "purple" — choose one of: blue, green/,
  );
  assert.match(
    userErrorLine(() => renderBlueprint(getBlueprint("edw"), resolveConfig({}), { cluster: "blue" })),
    /runs on one cluster/,
  );
});

test("quantities compare by value", () => {
  assert.ok(quantityValue("500m") < quantityValue("1"));
  assert.ok(quantityValue("128Mi") > quantityValue("100M"));
  assert.equal(quantityValue("1Gi"), 2 ** 30);
});
