import type { AppProgram, AppSpec, Blueprint } from "../blueprints/types.js";
import type { Settings } from "./config.js";

/** Programs akspilot builds into images, with the Dockerfile of each (paths from the repository root). */
export const DOCKERFILES: Partial<Record<AppProgram, string>> = {
  consumer: "images/consumer/Dockerfile",
  producer: "images/producer/Dockerfile",
  hello: "images/hello/Dockerfile",
};

/** Image reference of an app: a per-app override, a fixed external image, or registry + repository + tag. */
export function imageFor(app: AppSpec, s: Settings): string {
  const override = s.config.values.images?.[app.name];
  if (override) return override;
  if (app.externalImage) return app.externalImage;
  return `${s.registryServer()}/${app.image.repository}:${tagFor(app, s)}`;
}

export function tagFor(app: AppSpec, s: Settings): string {
  return s.config.values.tag ?? app.image.tag;
}

/** `latest` moves, so pods must re-pull it; a fixed tag can come from the node's cache. */
export function pullPolicyFor(image: string): "Always" | "IfNotPresent" {
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  return !tag || tag === "latest" ? "Always" : "IfNotPresent";
}

/** ACR name for `az acr …` commands (`acrdemo` from `acrdemo.azurecr.io`). */
export function registryName(s: Settings): string {
  const server = s.registryServer();
  return server.startsWith("<") ? server : server.split(".")[0]!;
}

/**
 * Commands that put every image a blueprint needs into the registry: `az acr build` for the apps
 * akspilot builds (as the seeds do), `az acr import` for third-party images (seed 002).
 */
export function imageCommands(blueprints: Blueprint[], s: Settings): string[] {
  const lines: string[] = [];
  const acr = registryName(s);
  if (s.cloud.name !== "AzurePublicCloud") lines.push(`az cloud set --name ${s.cloud.name}`);
  const seen = new Set<string>();
  for (const bp of blueprints) {
    for (const app of bp.apps) {
      const dockerfile = DOCKERFILES[app.program];
      if (!dockerfile || app.externalImage || s.config.values.images?.[app.name]) continue;
      const image = `${app.image.repository}:${tagFor(app, s)}`;
      if (seen.has(image)) continue;
      seen.add(image);
      lines.push(`az acr build --registry ${acr} --image ${image} --platform linux/amd64 --file ${dockerfile} .`);
    }
    for (const img of Object.values(bp.airflow?.images ?? {})) {
      const image = `${img.repository}:${img.tag}`;
      if (seen.has(image)) continue;
      seen.add(image);
      lines.push(`az acr import --name ${acr} --source ${img.source} --image ${image}`);
    }
  }
  return lines;
}
