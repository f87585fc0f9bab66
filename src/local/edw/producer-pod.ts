import { randomBytes } from "node:crypto";
import type { AppSpec } from "../../blueprints/types.js";
import type { ProducerToParent } from "../../apps/producer/run.js";
import { readRecords } from "../../identity/records.js";
import { UserError } from "../../errors.js";
import type { ClusterRecord } from "../../identity/records.js";
import type { Cluster } from "../cluster/cluster.js";
import type { Container, PodRunner } from "../cluster/runner.js";
import { programFor } from "../programs.js";
import type { StatusV1 } from "../status.js";
import { findIdentity } from "../identity/workload.js";

/**
 * The client id the producer's service account is annotated with: the identity given, else the one
 * whose federated credential names that service account on the cluster's issuer (what `deploy --target aks`
 * annotates it with: the blueprint's producer identity).
 */
export function producerClientId(root: string, cluster: ClusterRecord, namespace: string, app: AppSpec, given?: string): { clientId: string; name: string } {
  if (given) {
    const id = findIdentity(root, given);
    return { clientId: id.clientId, name: id.name };
  }
  const sa = app.serviceAccountName ?? "default";
  const subject = `system:serviceaccount:${namespace}:${sa}`;
  const r = readRecords(root);
  const fed = r.federated.find((f) => f.subject === subject && f.issuer === cluster.issuerUrl);
  const id = fed ? r.identities.find((i) => i.name === fed.identity) : undefined;
  if (!id)
    throw new UserError(
      `no identity recorded here has a federated credential for the producer's service account ${namespace}/${sa}`,
      "run `akspilot deploy edw --target local` (it creates the producer's identity), or pass --producer-identity <name>",
    );
  return { clientId: id.clientId, name: id.name };
}

export interface ProducerPodOptions {
  app: AppSpec;
  cluster: Cluster;
  /** Starts the producer's process (the runtime's, with its logs and code cache). */
  runner: PodRunner;
  /** The webhook's variables for the producer's service account, plus the storage account and queue. */
  env: Record<string, string>;
  /** The producer's flags (count, rate, burst …). */
  args: string[];
  onSent: (index: number) => void;
}

/**
 * The seed's producer as a pod of the cluster (a Job's single pod, restartPolicy Never): the producer
 * program with the workload-identity variables of its service account, reaching Azure's public queue URL
 * through the proxy and the enforcing front, as on AKS. The indexes it sends come back over its IPC channel.
 */
export class ProducerPod {
  readonly name: string;
  phase: "Running" | "Succeeded" | "Failed" = "Running";
  lastFailure?: string;
  private readonly startedAt = Date.now();
  private readonly container: Container;
  readonly exited: Promise<void>;

  constructor(private readonly o: ProducerPodOptions) {
    this.name = `${o.app.name}-${randomBytes(3).toString("hex").slice(0, 5)}`;
    const program = programFor(o.app, "edw");
    const node = o.cluster.liveNodes().find((n) => n.phase === "Ready")?.name ?? o.cluster.liveNodes()[0]?.name ?? "local";
    this.container = o.runner.start({
      pod: this.name,
      node,
      script: program.entry,
      args: o.args,
      nodeArgs: program.nodeArgs,
      port: 0,
      env: { ...o.app.env, ...program.env, ...o.env },
    });
    this.container.onMessage((m) => {
      const msg = m as ProducerToParent | undefined;
      if (msg?.type === "sent" && Array.isArray(msg.indexes)) for (const i of msg.indexes) o.onSent(i);
    });
    o.cluster.event("Normal", `pod/${this.name}`, "Started", `producer (job ${o.app.name}) with the workload identity of ${o.app.serviceAccountName ?? "default"}`);
    this.exited = this.container.exited.then((exit) => {
      if (exit.code === 0) {
        this.phase = "Succeeded";
        o.cluster.event("Normal", `pod/${this.name}`, "Completed", "producer finished");
      } else {
        this.phase = "Failed";
        this.lastFailure = exit.reason ?? `exit code ${exit.code ?? exit.signal}`;
        o.cluster.event("Warning", `pod/${this.name}`, "BackoffLimitExceeded", this.lastFailure);
      }
    });
  }

  /** Asks the producer to stop (it ends its sends and exits), SIGKILL after its grace period. */
  async stop(): Promise<void> {
    if (this.phase !== "Running") return;
    this.container.kill("SIGTERM");
    const timer = setTimeout(() => this.container.kill("SIGKILL"), this.o.app.terminationGracePeriodSeconds * 1000);
    await this.exited;
    clearTimeout(timer);
  }

  /** The pod in the status's pod list (the runtime's Deployments do not hold it). */
  decorate(s: StatusV1): void {
    s.pods.push({
      cluster: this.o.cluster.name,
      name: this.name,
      deployment: this.o.app.name,
      phase: this.phase,
      ready: this.phase === "Running",
      node: null,
      port: null,
      pid: this.phase === "Running" ? (this.container.pid ?? null) : null,
      restarts: 0,
      waiting: null,
      lastFailure: this.lastFailure ?? null,
      inFlight: 0,
      processed: 0,
      ageSeconds: Math.round((Date.now() - this.startedAt) / 1000),
    });
  }
}
