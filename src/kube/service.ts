import { Service } from "kubernetes-models/v1";
import type { AppSpec, ServiceSpec } from "../blueprints/types.js";
import { labelsFor, type BuildContext } from "./context.js";
import { selectorOf } from "./deployment.js";

export function serviceFor(ctx: BuildContext, app: AppSpec, svc: ServiceSpec): Service {
  const metadata: Service["metadata"] = { name: app.name, namespace: ctx.bp.namespace, labels: labelsFor(ctx, app.labels, app.name) };
  if (svc.annotations) metadata.annotations = { ...svc.annotations };
  return new Service({
    metadata,
    spec: {
      type: svc.type,
      selector: selectorOf(app),
      ports: [{ name: "http", port: svc.port, targetPort: svc.targetPort, protocol: "TCP" }],
    },
  });
}
