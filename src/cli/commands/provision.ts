import type { Command } from "commander";

/** `plan`, `deploy`, `destroy`: provisioning (and `deploy --target aks` via the Kubernetes target). */
export function registerProvisionCommands(_program: Command): void {
  // Filled in with the provisioning target.
}
