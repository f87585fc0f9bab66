import { Ingress } from "kubernetes-models/networking.k8s.io/v1";
import type { AppSpec, IngressSpec, ServiceSpec } from "../blueprints/types.js";
import { labelsFor, type BuildContext } from "./context.js";

/** An Ingress served by the class's controller (AGIC programs the Application Gateway from it). */
export function ingressFor(ctx: BuildContext, app: AppSpec, ing: IngressSpec, svc: ServiceSpec): Ingress {
  const metadata: Ingress["metadata"] = { name: app.name, namespace: ctx.bp.namespace, labels: labelsFor(ctx, app.labels, app.name) };
  if (ing.annotations) metadata.annotations = { ...ing.annotations };
  return new Ingress({
    metadata,
    spec: {
      ingressClassName: ing.className,
      rules: [
        {
          http: {
            paths: [{ path: ing.path, pathType: "Prefix", backend: { service: { name: app.name, port: { number: svc.port } } } }],
          },
        },
      ],
    },
  });
}
