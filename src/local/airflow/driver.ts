import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { BlobServiceClient } from "@azure/storage-blob";
import { startAzurite, type AzuriteHandle } from "../../process/azurite.js";
import type { AppSpec, AirflowSpec, Blueprint } from "../../blueprints/types.js";
import { UserError } from "../../errors.js";
import { explainChain, type ChainLink } from "../../identity/explain.js";
import { readRecords, recordFederatedCredential, recordRoleAssignment, TOKEN_EXCHANGE_AUDIENCE, type IdentityRecord } from "../../identity/records.js";
import { Ledger, localDir } from "../../provisioning/local/ledger.js";
import type { BlueprintDriver } from "../drivers/driver.js";
import type { AppOverrides, LocalRuntime } from "../runtime.js";
import type { StatusV1 } from "../status.js";
import type { Container } from "../cluster/runner.js";
import { POD_NODE_ARGS } from "../programs.js";
import { clusterFor, startWorkloadIdentity, type WorkloadIdentityWiring } from "../identity/workload.js";
import { ExternalSecretsController, parseRefreshInterval, type ExternalSecretSpec } from "../identity/external-secrets.js";
import { imagePullError, recordedRegistry, type RegistryImages } from "./images.js";
import { containerConfig, isWaiting, SecretVolumeSync, type SecretLookup } from "../cluster/secrets.js";

export interface AirflowDriverOptions {
  blueprint: Blueprint;
  cwd: string;
  /** Scripted: stop once the ExternalSecret has been reconciled and the task pod has finished (or cannot pull). */
  exitWhenDone: boolean;
  /** The task pod's image, `<repository>:<tag>` (default: the blueprint's Airflow image). */
  taskImage?: string;
  /** Grant the identity Storage Blob Data Contributor on the logs container (the task writes its log with the identity). */
  logsRole: boolean;
  dag: string;
  task: string;
  /** Ends a scripted run that has not finished. */
  timeoutSeconds: number;
  /** The ExternalSecret's refreshInterval in seconds instead of the blueprint's (e.g. a short one to watch a change). */
  refreshIntervalSeconds?: number;
  /** How often the kubelet refreshes mounted secret volumes (AKS: its sync period plus cache TTL, up to about a minute). */
  secretSyncSeconds: number;
  /** How long the task works before it writes its log (the BashOperator's `sleep`). */
  taskSeconds: number;
}

/** A task pod as `status` shows it. */
export interface TaskPod {
  name: string;
  image: string;
  phase: "Pending" | "Running" | "Succeeded" | "Failed";
  /** The container's waiting reason (ErrImagePull) and the kubelet's message. */
  waiting?: string;
  message?: string;
  lastFailure?: string;
  startedAt: number;
  finishedAt?: number;
  /** The blob the task wrote its log to. */
  log?: string;
  /** Variables from secretKeyRef, as `NAME ← secret/key` (never a value). */
  secretEnv?: string[];
  /** Mounted secret volumes: where, and when the kubelet last synced and last changed them (never a value). */
  volumes?: Array<{ name: string; secret: string; mountPath: string; hostPath: string; syncedAt?: string; updatedAt?: string }>;
}

export interface AirflowReport {
  blueprint: string;
  externalSecrets: Array<{ name: string; ready: boolean; reason: string; message: string; keys: string[] }>;
  secrets: Array<{ name: string; keys: string[] }>;
  taskPods: Array<Omit<TaskPod, "startedAt" | "finishedAt">>;
  taskLogs: string[];
}

/** The federated credential airflow-deploy.md step 5 creates for the `airflow` service account. */
export const AIRFLOW_FEDERATED_CREDENTIAL = "external-secret-operator";

const TASK_ENTRY = fileURLToPath(new URL("../../apps/airflow-task/main.js", import.meta.url));

function airflowOf(bp: Blueprint): AirflowSpec {
  if (!bp.airflow) throw new UserError(`blueprint ${bp.name} is not an Airflow platform`, "use `akspilot up airflow`");
  return bp.airflow;
}

/**
 * The Airflow platform's wiring, locally (Airflow itself does not run: it needs Python packages this tool
 * does not bring). After `deploy airflow-infra --target local`: the identity services, the External
 * Secrets loop syncing the blueprint's ExternalSecret with the `airflow` service account's workload
 * identity, and Airflow-shaped task pods writing their logs to the logs container with that identity.
 */
export class AirflowDriver implements BlueprintDriver<AirflowReport> {
  private readonly af: AirflowSpec;
  private identity?: IdentityRecord;
  private account?: string;
  private azurite?: AzuriteHandle;
  private wiring?: WorkloadIdentityWiring;
  private eso?: ExternalSecretsController;
  private spec?: ExternalSecretSpec;
  private registry?: RegistryImages;
  private env?: Record<string, string>;
  private readonly pods: TaskPod[] = [];
  /** The kubelet's side of the task pods' Secrets: mounted volumes, kept in step with the Secrets. */
  private kubelet?: SecretVolumeSync;
  private pendingTask?: { pod: TaskPod; runId: string; lastEvent?: string };
  private rt?: LocalRuntime;
  private readonly containers = new Map<string, Container>();
  private taskLogs: string[] = [];
  private chains?: { at: number; value: Record<string, ChainLink[]> };
  private stopped?: Promise<void>;

  constructor(private readonly o: AirflowDriverOptions) {
    this.af = airflowOf(o.blueprint);
  }

  /** The blueprint the runtime starts: its clusters and nodes; the driver runs the task pods. */
  get namespace(): string {
    return this.o.blueprint.namespace;
  }

  async prepare(): Promise<void> {
    const root = this.o.cwd;
    const notDeployed = (what: string) =>
      new UserError(`the airflow infrastructure is not deployed locally in this directory (${what})`, "run `akspilot deploy airflow-infra --target local` first");
    const r = readRecords(root);
    this.identity = r.identities.find((i) => i.name.startsWith("airflow-identity-"));
    if (!this.identity) throw notDeployed("no airflow identity recorded");
    const vault = r.vaults.find((v) => v.name.startsWith("airflow-vault-"));
    if (!vault) throw notDeployed("no airflow Key Vault recorded");
    this.account = r.accounts.find((a) => a.startsWith("airflowsasa"));
    if (!this.account) throw notDeployed("no logs storage account recorded");
    const registry = recordedRegistry(root, "airflowacr");
    if (!registry) throw notDeployed("no registry recorded");
    this.registry = registry;
    const cluster = clusterFor(root, this.o.blueprint);
    const subject = `system:serviceaccount:${this.namespace}:${this.af.serviceAccount}`;

    // airflow-deploy.md step 5, as the Helm deploy would have it: the service account's federated credential
    // (one already recorded under that name — e.g. changed to try a wrong subject — is left as it is).
    if (!r.federated.some((f) => f.identity === this.identity!.name && f.name === AIRFLOW_FEDERATED_CREDENTIAL)) {
      recordFederatedCredential(root, {
        identity: this.identity.name,
        name: AIRFLOW_FEDERATED_CREDENTIAL,
        issuer: cluster.issuerUrl,
        subject,
        audiences: [TOKEN_EXCHANGE_AUDIENCE],
      });
    }
    if (this.o.logsRole) {
      const accountId = Ledger.open(root)
        .all()
        .find(([, e]) => e.kind === "storageAccount" && e.name === this.account)?.[1].outputs.id;
      if (!accountId) throw notDeployed(`storage account ${this.account} has no id`);
      recordRoleAssignment(root, {
        scope: `${accountId}/blobServices/default/containers/${this.af.logs.container}`,
        role: "Storage Blob Data Contributor",
        principalId: this.identity.principalId,
        name: `Storage Blob Data Contributor@${this.af.logs.container} (airflow task logs)`,
      });
    }

    // The storage the deploy created (its logs container lives in this data directory).
    this.azurite = await startAzurite({ dataDir: join(localDir(root), "azurite") });
    await BlobServiceClient.fromConnectionString(this.azurite.connectionString).getContainerClient(this.af.logs.container).createIfNotExists();
    this.wiring = await startWorkloadIdentity({ root, blueprint: this.o.blueprint, connectionString: this.azurite.connectionString, keyVault: true, clusterName: cluster.name });
    const services = this.wiring.services;
    if (!services.keyVaultUrl) throw notDeployed("no Key Vault served");
    this.env = await services.workloadEnv(cluster, this.namespace, this.af.serviceAccount, this.identity.clientId);
    this.spec = {
      name: this.af.externalSecret,
      namespace: this.namespace,
      refreshIntervalSeconds: this.o.refreshIntervalSeconds ?? parseRefreshInterval(this.af.refreshInterval),
      target: this.af.storageSecret,
      data: { azurestorageaccountname: this.af.keyVaultSecrets.accountName, azurestorageaccountkey: this.af.keyVaultSecrets.accountKey },
    };
    this.eso = new ExternalSecretsController({ name: this.af.secretStore, vaultUrl: services.keyVaultUrl, env: this.env }, [this.spec], () => Date.now());
    this.kubelet = new SecretVolumeSync(this.namespace, this.secretLookup, this.o.secretSyncSeconds * 1000, (v) => {
      const at = new Date(v.updatedAt ?? Date.now()).toISOString();
      const pod = this.pods.find((p) => p.name === v.pod);
      const vol = pod?.volumes?.find((x) => x.name === v.ref.name);
      if (vol) vol.updatedAt = at;
      this.rt?.primary.event("Normal", `pod/${v.pod}`, "SecretVolumeUpdated", `volume "${v.ref.name}" updated from secret ${this.namespace}/${v.ref.secretName}`);
    });
  }

  /** The namespace's Secrets as the API server holds them: those External Secrets wrote. */
  private readonly secretLookup: SecretLookup = (name) => this.eso?.secrets.get(`${this.namespace}/${name}`);

  private get podsDir(): string {
    return join(this.o.cwd, ".akspilot", "pods");
  }

  app(_app: AppSpec): AppOverrides | "driver" {
    return "driver";
  }

  runtimeFile(): Record<string, unknown> {
    return this.wiring?.runtimeFields() ?? {};
  }

  /** Creates one task pod (a KubernetesExecutor worker's shape): it waits for its image and its Secret. */
  private createTask(rt: LocalRuntime, runId: string): TaskPod {
    const [repository, tag] = (this.o.taskImage ?? `${this.af.images.airflow.repository}:${this.af.images.airflow.tag}`).split(":") as [string, string | undefined];
    const image = `${this.registry!.registry}.azurecr.io/${repository}:${tag ?? "latest"}`;
    const name = `${this.o.dag}-${this.o.task}-${randomBytes(4).toString("hex")}`.toLowerCase().replace(/[^a-z0-9-]/g, "-");
    const pod: TaskPod = {
      name,
      image,
      phase: "Pending",
      startedAt: Date.now(),
      secretEnv: this.af.podSecrets.env.map((e) => `${e.name} ← ${e.secretName}/${e.key}`),
    };
    this.pods.push(pod);
    const cluster = rt.primary;
    const known = Object.values(this.af.images).find((i) => i.repository === repository);
    const pull = imagePullError(this.registry!, repository, tag ?? "latest", known ? known.source.replace(/:[^:/]+$/, `:${tag ?? "latest"}`) : undefined);
    if (pull) {
      pod.waiting = "ErrImagePull";
      pod.message = pull;
      cluster.event("Warning", `pod/${name}`, "Failed", pull);
      cluster.event("Warning", `pod/${name}`, "Failed", "Error: ErrImagePull");
      return pod;
    }
    if (!existsSync(TASK_ENTRY)) throw new UserError(`the task program ${TASK_ENTRY} is missing`, "run `npm run build`");
    this.pendingTask = { pod, runId };
    this.tryStartTask(rt);
    return pod;
  }

  /**
   * The kubelet's start of the pending task pod: its secret volumes are mounted first (a missing Secret:
   * ContainerCreating with FailedMount events), then its variables from secretKeyRef are resolved (a missing
   * Secret or key: CreateContainerConfigError); both are tried again on every pass until the Secret exists.
   */
  private tryStartTask(rt: LocalRuntime): void {
    const pending = this.pendingTask;
    if (!pending) return;
    const { pod, runId } = pending;
    const cluster = rt.primary;
    const cfg = containerConfig(this.namespace, this.af.podSecrets, this.secretLookup);
    if (isWaiting(cfg)) {
      pod.waiting = cfg.reason;
      pod.message = cfg.message;
      if (pending.lastEvent !== cfg.event.message) cluster.event("Warning", `pod/${pod.name}`, cfg.event.reason, cfg.event.message);
      pending.lastEvent = cfg.event.message;
      return;
    }
    this.pendingTask = undefined;
    pod.waiting = undefined;
    pod.message = undefined;
    const env: Record<string, string> = { ...cfg.env };
    pod.volumes = [];
    for (const v of this.af.podSecrets.volumes) {
      // A pod is a process here: the mount is a directory of the run, and a variable naming the mount path names it.
      const hostPath = join(this.podsDir, pod.name, "volumes", v.name);
      const mounted = this.kubelet!.mount(pod.name, v, hostPath, cfg.volumes.get(v.name)!, Date.now());
      if (v.pathEnv) env[v.pathEnv] = hostPath;
      pod.volumes.push({ name: v.name, secret: v.secretName, mountPath: v.mountPath, hostPath, syncedAt: new Date(mounted.syncedAt!).toISOString() });
    }
    const runner = rt.processRunner();
    const c = runner.start({
      pod: pod.name,
      node: cluster.liveNodes()[0]?.name ?? "local",
      script: TASK_ENTRY,
      args: [],
      nodeArgs: POD_NODE_ARGS,
      port: 0,
      env: {
        ...this.env!,
        ...env,
        AIRFLOW_LOGS_CONTAINER: this.af.logs.container,
        AIRFLOW_CTX_DAG_ID: this.o.dag,
        AIRFLOW_CTX_TASK_ID: this.o.task,
        AIRFLOW_CTX_DAG_RUN_ID: runId,
        AIRFLOW_CTX_TRY_NUMBER: "1",
        AIRFLOW_TASK_SECONDS: String(this.o.taskSeconds),
      },
    });
    this.containers.set(pod.name, c);
    pod.phase = "Running";
    const name = pod.name;
    cluster.event(
      "Normal",
      `pod/${name}`,
      "Started",
      `task ${this.o.dag}.${this.o.task} (${runId}) with the workload identity of ${this.namespace}/${this.af.serviceAccount}, image ${pod.image}`,
    );
    void c.exited.then(async (exit) => {
      this.containers.delete(name);
      pod.finishedAt = Date.now();
      if (exit.code === 0) {
        pod.phase = "Succeeded";
        pod.log = `dag_id=${this.o.dag}/run_id=${runId}/task_id=${this.o.task}/attempt=1.log`;
        this.taskLogs = await this.listLogs().catch(() => this.taskLogs);
        cluster.event("Normal", `pod/${name}`, "Completed", `task log written to container ${this.af.logs.container}`);
      } else {
        pod.phase = "Failed";
        pod.lastFailure = exit.reason ?? `exit code ${exit.code ?? exit.signal}`;
        cluster.event("Warning", `pod/${name}`, "TaskFailed", pod.lastFailure);
      }
    });
  }

  /** The task logs in the logs container, read from storage itself (not from the task's word). */
  private async listLogs(): Promise<string[]> {
    const out: string[] = [];
    for await (const b of BlobServiceClient.fromConnectionString(this.azurite!.connectionString).getContainerClient(this.af.logs.container).listBlobsFlat()) out.push(b.name);
    return out.sort();
  }

  async run(rt: LocalRuntime, ctx: { signal: AbortSignal; status(line: string): void }): Promise<void> {
    const t0 = performance.now();
    const runId = `manual__${new Date().toISOString().replace(/\.\d+Z$/, "+00:00")}`;
    let task: TaskPod | undefined;
    this.rt = rt;
    while (!ctx.signal.aborted) {
      await this.eso!.reconcile();
      this.kubelet!.tick(Date.now());
      const es = this.eso!.status.get(`${this.namespace}/${this.af.externalSecret}`);
      task ??= this.createTask(rt, runId);
      this.tryStartTask(rt);
      const cond = es?.conditions[0];
      ctx.status(
        `externalsecret/${this.af.externalSecret} ${cond ? `${cond.reason}` : "pending"} | secret/${this.af.storageSecret} keys ${es?.keys.join(",") || "-"} | pod ${task.name} ${task.waiting ?? task.phase}`,
      );
      // A pod waiting for its Secret is done only while External Secrets fails to write it.
      const waitsForSecret = task.waiting === "ContainerCreating" || task.waiting === "CreateContainerConfigError";
      const done = (task.waiting !== undefined && (!waitsForSecret || cond?.status === "False")) || task.phase === "Succeeded" || task.phase === "Failed";
      if (this.o.exitWhenDone && done && cond) {
        const failures = [
          ...(cond.status === "False" ? [`externalsecret/${this.af.externalSecret} ${cond.reason}: ${cond.message}`] : []),
          ...(task.waiting ? [`pod ${task.name} ${task.waiting}: ${task.message}`] : []),
          ...(task.phase === "Failed" ? [`pod ${task.name} failed: ${task.lastFailure}`] : []),
        ];
        const hint =
          task.waiting === "ErrImagePull"
            ? `import the image (az acr import) or pass --task-image with an imported one: ${[...this.registry!.images].join(", ")}`
            : `see \`akspilot identity explain ${this.namespace}/${this.af.serviceAccount} --resource ${cond.status === "False" ? "keyvault" : "blob"}\` and the pod log in .akspilot/logs`;
        if (failures.length) throw new UserError(failures.join("; "), hint);
        return;
      }
      if (this.o.exitWhenDone && (performance.now() - t0) / 1000 > this.o.timeoutSeconds)
        throw new UserError(`the airflow wiring did not finish within ${this.o.timeoutSeconds} s`, "see `akspilot status`");
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Each workload-identity pod's chain: the task pod to the logs container, the SecretStore to the vault. */
  private async chainsNow(): Promise<Record<string, ChainLink[]>> {
    if (this.chains && Date.now() - this.chains.at < 5000) return this.chains.value;
    const base = { namespace: this.namespace, serviceAccount: this.af.serviceAccount, identity: this.identity!.clientId, cluster: this.wiring!.cluster.name };
    const fail = (e: Error): ChainLink[] => [{ link: "token", ok: false, detail: e.message }];
    const value: Record<string, ChainLink[]> = {};
    for (const p of this.pods)
      if (!p.waiting) value[`${p.name} (blob ${this.af.logs.container})`] = await explainChain(this.o.cwd, { ...base, resource: "blob", name: this.af.logs.container }).catch(fail);
    value[`external-secrets (secretstore/${this.af.secretStore})`] = await explainChain(this.o.cwd, { ...base, resource: "keyvault" }).catch(fail);
    this.chains = { at: Date.now(), value };
    return value;
  }

  async status(): Promise<Record<string, unknown>> {
    for (const v of this.kubelet?.volumes ?? []) {
      const vol = this.pods.find((p) => p.name === v.pod)?.volumes?.find((x) => x.name === v.ref.name);
      if (vol && v.syncedAt) vol.syncedAt = new Date(v.syncedAt).toISOString();
    }
    return {
      externalSecrets: this.externalSecrets(),
      secrets: this.secrets(),
      taskPods: this.pods.map(({ startedAt: _s, finishedAt: _f, ...p }) => p),
      taskLogs: this.taskLogs,
      workloadIdentity: { chains: await this.chainsNow() },
    };
  }

  /** The task pods join the status's pods, with the waiting reason a pull failure gives them. */
  decorateStatus(s: StatusV1): void {
    const now = Date.now();
    for (const p of this.pods) {
      if (p.phase === "Succeeded" || p.phase === "Failed") continue;
      s.pods.push({
        cluster: s.clusters[0]?.name ?? "",
        name: p.name,
        deployment: `${this.o.dag}.${this.o.task}`,
        phase: p.phase,
        ready: p.phase === "Running",
        node: null,
        port: null,
        pid: this.containers.get(p.name)?.pid ?? null,
        restarts: 0,
        waiting: p.waiting ? `${p.waiting}: ${p.message}` : null,
        lastFailure: p.lastFailure ?? null,
        inFlight: 0,
        processed: 0,
        ageSeconds: Math.round((now - p.startedAt) / 1000),
      } as StatusV1["pods"][number]);
    }
  }

  private externalSecrets(): AirflowReport["externalSecrets"] {
    return [...(this.eso?.status.entries() ?? [])].map(([key, st]) => {
      const c = st.conditions[0]!;
      return { name: key, ready: c.status === "True", reason: c.reason, message: c.message, keys: st.keys, ...(st.refreshTime ? { refreshTime: st.refreshTime } : {}) };
    });
  }

  /** Kubernetes Secrets written by the loop: names and keys, never values. */
  private secrets(): AirflowReport["secrets"] {
    return [...(this.eso?.secrets.entries() ?? [])].map(([name, data]) => ({ name, type: "Opaque", keys: Object.keys(data) }));
  }

  async report(_rt: LocalRuntime): Promise<AirflowReport> {
    return {
      blueprint: this.o.blueprint.name,
      externalSecrets: this.externalSecrets(),
      secrets: this.secrets(),
      taskPods: this.pods.map(({ startedAt: _s, finishedAt: _f, ...p }) => p),
      taskLogs: this.taskLogs,
    };
  }

  stop(): Promise<void> {
    return (this.stopped ??= (async () => {
      for (const c of this.containers.values()) c.kill("SIGKILL");
      await Promise.all([...this.containers.values()].map((c) => c.exited));
      // The pods are gone: so are their secret volumes.
      this.kubelet?.stop();
      rmSync(this.podsDir, { recursive: true, force: true });
      await this.wiring?.stop();
      await this.azurite?.stop();
    })());
  }
}
