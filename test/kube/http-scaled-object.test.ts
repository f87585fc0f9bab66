import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { getBlueprint } from "../../src/blueprints/index.js";
import type { Blueprint, HttpScalingSpec } from "../../src/blueprints/types.js";
import { resolveConfig } from "../../src/kube/config.js";
import { requiredCrds } from "../../src/kube/crds.js";
import { renderBlueprint } from "../../src/kube/render.js";
import { UserError } from "../../src/errors.js";
import { fixtureValues, sourcePath } from "./helpers.js";

// The golden file is reviewed by eye once; regenerate with UPDATE_GOLDEN=1 after an intended change.
const update = process.env.UPDATE_GOLDEN === "1";
const RULE: HttpScalingSpec = { minReplicas: 0, maxReplicas: 4, targetPendingRequests: 100, scaledownPeriodSeconds: 300 };

function webWith(rule: Partial<HttpScalingSpec> | undefined, edit?: (bp: Blueprint) => void): Blueprint {
  const bp = getBlueprint("resilient-web");
  bp.apps[0]!.httpScaling = { ...RULE, ...rule };
  edit?.(bp);
  return bp;
}

const renderWeb = (bp: Blueprint) => renderBlueprint(bp, resolveConfig(fixtureValues()));

test("httpScaling: resilient-web with a rule renders a KEDA HTTP add-on HTTPScaledObject (golden)", () => {
  const rendered = renderWeb(webWith({}));
  const text = rendered.files[0]!.text;
  const path = sourcePath("golden", "resilient-web-http-scaling.yaml");
  if (update) writeFileSync(path, text);
  assert.equal(text, readFileSync(path, "utf8"), "differs from test/kube/golden/resilient-web-http-scaling.yaml (UPDATE_GOLDEN=1 to accept)");

  const kinds = rendered.objects.map((o) => o.kind);
  assert.equal(kinds.at(-1), "HTTPScaledObject", "applied after the Deployment and Service it points to");
  const httpso = rendered.objects.find((o) => o.kind === "HTTPScaledObject")!.toJSON() as { apiVersion: string; spec: Record<string, unknown> };
  assert.equal(httpso.apiVersion, "http.keda.sh/v1alpha1");
  assert.deepEqual(httpso.spec, {
    hosts: ["*"],
    pathPrefixes: ["/"],
    scaleTargetRef: { name: "helloworld", kind: "Deployment", apiVersion: "apps/v1", service: "helloworld", port: 80 },
    replicas: { min: 0, max: 4 },
    scaledownPeriod: 300,
    scalingMetric: { concurrency: { targetValue: 100 } },
  });
  const deployment = rendered.objects.find((o) => o.kind === "Deployment")!.toJSON() as { spec: Record<string, unknown> };
  assert.equal("replicas" in deployment.spec, false, "the add-on owns the replica count");
  assert.deepEqual(
    requiredCrds(rendered.objects).map((c) => c.name),
    ["httpscaledobjects.http.keda.sh"],
    "deploy checks that the HTTP add-on is installed",
  );
});

test("httpScaling: without a rule nothing of the add-on is rendered", () => {
  const rendered = renderWeb(getBlueprint("resilient-web"));
  assert.equal(
    rendered.objects.some((o) => o.kind === "HTTPScaledObject"),
    false,
  );
  assert.equal(requiredCrds(rendered.objects).length, 0);
});

test("httpScaling: the ingress path becomes the add-on's path prefix", () => {
  const rendered = renderWeb(webWith({}, (bp) => (bp.apps[0]!.ingress = { className: "azure-application-gateway", path: "/shop" })));
  const httpso = rendered.objects.find((o) => o.kind === "HTTPScaledObject")!.toJSON() as { spec: { pathPrefixes: string[] } };
  assert.deepEqual(httpso.spec.pathPrefixes, ["/shop"]);
});

test("httpScaling: a bad rule or an app without a service is refused in one line", () => {
  assert.throws(
    () => renderWeb(webWith({ minReplicas: 5, maxReplicas: 2 })),
    (e: unknown) => e instanceof UserError && /^app helloworld: httpScaling\.maxReplicas \(2\) is below minReplicas \(5\)/.test(e.message),
  );
  assert.throws(
    () => renderWeb(webWith({}, (bp) => delete bp.apps[0]!.service)),
    (e: unknown) => e instanceof UserError && /^app helloworld has an httpScaling rule but no service/.test(e.message),
  );
});
