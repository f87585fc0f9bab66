import type { Command } from "commander";

/** `manifests`, `images`: the Kubernetes target. */
export function registerKubeCommands(_program: Command): void {
  // Filled in with the Kubernetes target.
}
