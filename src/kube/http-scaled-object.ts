import type { AppSpec, HttpScalingSpec, ServiceSpec } from "../blueprints/types.js";
import { checkHttpScaling } from "../scaling/http.js";
import { labelsFor, type BuildContext } from "./context.js";
import { compileSpecSchema, CustomResource, s } from "./custom-resource.js";

const int = (minimum: number) => ({ type: "integer", minimum });

/**
 * The fields akspilot emits of the KEDA HTTP add-on's HTTPScaledObject, as the CRD of http-add-on v0.13.0
 * spells them (config/crd/bases/http.keda.sh_httpscaledobjects.yaml): `scaleTargetRef` with
 * `name`/`kind`/`apiVersion` (the older `deployment` field is gone), `replicas.min/max`, `scaledownPeriod`,
 * and `scalingMetric.concurrency.targetValue` (which replaced the deprecated `targetPendingRequests`).
 */
const httpScaledObjectSpec = compileSpecSchema(
  s.obj({
    hosts: s.arr(s.str),
    pathPrefixes: s.arr(s.str),
    scaleTargetRef: s.obj({ name: s.str, kind: { const: "Deployment" }, apiVersion: { const: "apps/v1" }, service: s.str, port: { type: "integer", minimum: 1, maximum: 65535 } }),
    replicas: s.obj({ min: int(0), max: int(1) }),
    scaledownPeriod: int(0),
    scalingMetric: s.obj({ concurrency: s.obj({ targetValue: int(1) }) }),
  }),
);

/**
 * The app's HTTP scale rule for the KEDA HTTP add-on. The local rule counts requests pending at the gateway
 * (in flight or held), which is the add-on's `concurrency` metric. Every host (`*`, the add-on's catch-all)
 * and the ingress path, or `/`, are routed by the add-on's interceptor to the app's Service.
 */
export function httpScaledObjectFor(ctx: BuildContext, app: AppSpec, rule: HttpScalingSpec, svc: ServiceSpec): CustomResource {
  checkHttpScaling(app.name, rule);
  return new CustomResource(
    {
      apiVersion: "http.keda.sh/v1alpha1",
      kind: "HTTPScaledObject",
      metadata: { name: app.name, namespace: ctx.bp.namespace, labels: labelsFor(ctx, app.labels, app.name) },
      spec: {
        hosts: ["*"],
        pathPrefixes: [app.ingress?.path ?? "/"],
        scaleTargetRef: { name: app.name, kind: "Deployment", apiVersion: "apps/v1", service: app.name, port: svc.port },
        replicas: { min: rule.minReplicas, max: rule.maxReplicas },
        // The add-on counts whole seconds.
        scaledownPeriod: Math.ceil(rule.scaledownPeriodSeconds),
        scalingMetric: { concurrency: { targetValue: rule.targetPendingRequests } },
      },
    },
    httpScaledObjectSpec,
  );
}
