import assert from "node:assert/strict";
import { test } from "node:test";
import type { IIoK8sApiCoreV1PodSpec as PodSpec } from "kubernetes-models/v1/PodSpec";
import { getBlueprint, blueprintNames } from "../../src/blueprints/index.js";
import { resolveConfig, Settings } from "../../src/kube/config.js";
import { airflowValues } from "../../src/kube/airflow-values.js";
import { hardeningViolations } from "../../src/kube/hardening.js";
import { DELETION_COST_ENV } from "../../src/kube/deployment.js";
import { podSpecOf } from "../../src/kube/validate.js";
import { fixtureValues, render } from "./helpers.js";

function workloads(name: string, values = fixtureValues()) {
  return render(name, values).objects.flatMap((o) => {
    const pod = podSpecOf(o.toJSON() as Record<string, unknown>);
    return pod ? [{ name: `${o.kind} ${o.metadata?.name}`, spec: pod.spec as unknown as PodSpec }] : [];
  });
}

test("hardening: every workload of every blueprint is hardened by default", () => {
  let count = 0;
  for (const name of blueprintNames()) {
    for (const w of workloads(name)) {
      count++;
      assert.deepEqual(hardeningViolations(w.spec), [], `${name}: ${w.name}`);
    }
  }
  assert.ok(count >= 4, `checked ${count} workloads`);
});

test("hardening: the check catches what it is meant to catch", () => {
  const weak = workloads("resilient-web", {
    ...fixtureValues(),
    hardening: {
      runAsNonRoot: false,
      readOnlyRootFilesystem: false,
      dropAllCapabilities: false,
      seccompProfile: "Unconfined",
      allowPrivilegeEscalation: true,
      automountServiceAccountToken: true,
    },
  })[0]!;
  const v = hardeningViolations(weak.spec);
  for (const expected of ["automountServiceAccountToken", "runAsNonRoot", "readOnlyRootFilesystem", "allowPrivilegeEscalation", "capabilities", "seccompProfile"]) {
    assert.ok(
      v.some((l) => l.includes(expected)),
      `reports ${expected}: ${v.join("; ")}`,
    );
  }
  const noLimits = structuredClone(workloads("edw")[0]!.spec);
  delete noLimits.containers[0]!.resources!.limits;
  assert.deepEqual(
    hardeningViolations(noLimits).filter((l) => l.includes("limit")),
    ["container keda-queue-reader: no cpu limit", "container keda-queue-reader: no memory limit"],
  );
});

test("hardening: overridden settings reach the pod and relax the namespace's enforcement", () => {
  const r = render("resilient-web", { ...fixtureValues(), hardening: { readOnlyRootFilesystem: false } });
  const c = (r.objects.find((o) => o.kind === "Deployment")!.toJSON() as { spec: { template: { spec: PodSpec } } }).spec.template.spec.containers[0]!;
  assert.equal(c.securityContext?.readOnlyRootFilesystem, false);
  assert.equal(c.volumeMounts, undefined, "no /tmp emptyDir needed with a writable root");
  const weaker = render("resilient-web", { ...fixtureValues(), hardening: { runAsNonRoot: false } });
  assert.equal(weaker.objects[0]!.metadata?.labels?.["pod-security.kubernetes.io/enforce"], undefined);
  assert.equal(render("resilient-web").objects[0]!.metadata?.labels?.["pod-security.kubernetes.io/enforce"], "restricted");
});

test("busy-aware scale-in: the deletion-cost option mounts the API token, passes pod identity and grants only pod patch", () => {
  const r = render("edw", { ...fixtureValues(), apps: { "aqs-app": { podDeletionCost: true } } });
  const dep = r.objects.find((o) => o.kind === "Deployment")!.toJSON() as { spec: { template: { spec: PodSpec } } };
  const pod = dep.spec.template.spec;
  assert.equal(pod.automountServiceAccountToken, true);
  assert.deepEqual(hardeningViolations(pod, { tokenAllowed: true }), []);
  const env = pod.containers[0]!.env!;
  assert.equal(env.find((e) => e.name === DELETION_COST_ENV)?.value, "true");
  assert.equal(env.find((e) => e.name === "POD_NAME")?.valueFrom?.fieldRef?.fieldPath, "metadata.name");
  assert.equal(env.find((e) => e.name === "POD_NAMESPACE")?.valueFrom?.fieldRef?.fieldPath, "metadata.namespace");
  const role = r.objects.find((o) => o.kind === "Role")!.toJSON() as { metadata: { namespace: string }; rules: unknown };
  assert.equal(role.metadata.namespace, "aqs-demo");
  assert.deepEqual(role.rules, [{ apiGroups: [""], resources: ["pods"], verbs: ["patch"] }]);
  const binding = r.objects.find((o) => o.kind === "RoleBinding")!.toJSON() as { subjects: unknown };
  assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: "aqs-app-service-account", namespace: "aqs-demo" }]);
  // Off by default: no token, no RBAC.
  assert.equal(
    render("edw").objects.some((o) => o.kind === "Role"),
    false,
  );
});

test("hardening: Airflow's chart values run non-root with dropped capabilities, seccomp and limits", () => {
  const v = airflowValues(getBlueprint("airflow").airflow!, new Settings(resolveConfig(fixtureValues()))) as {
    securityContexts: { pod: Record<string, unknown>; containers: Record<string, unknown> };
  } & Record<string, { resources?: { requests: object; limits: object } }>;
  assert.equal(v.securityContexts.pod.runAsNonRoot, true);
  assert.deepEqual(v.securityContexts.pod.seccompProfile, { type: "RuntimeDefault" });
  assert.deepEqual(v.securityContexts.containers, { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
  for (const component of ["scheduler", "triggerer", "workers", "webserver", "statsd", "pgbouncer"]) {
    assert.ok(v[component]?.resources?.requests && v[component]?.resources?.limits, `${component} has requests and limits`);
  }
});
