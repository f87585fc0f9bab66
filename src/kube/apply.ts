import { UserError } from "../errors.js";

export interface ApplyToAksOptions {
  blueprint: string;
  /** kubeconfig context; the current context when omitted. */
  context?: string;
  dryRun: boolean;
  /** Remove what a previous apply created instead of applying. */
  destroy?: boolean;
  /** Progress lines for the terminal. */
  out: (line: string) => void;
}

/** `akspilot deploy|destroy <blueprint> --target aks`. */
export async function applyToAks(_opts: ApplyToAksOptions): Promise<void> {
  throw new UserError("the Kubernetes target cannot apply yet", "use `akspilot manifests` and kubectl apply");
}
