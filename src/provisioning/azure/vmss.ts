import { ServiceClient } from "@azure/core-client";
import { createPipelineRequest, type PipelineResponse } from "@azure/core-rest-pipeline";
import { UserError } from "../../errors.js";
import { cloudOf } from "../clouds.js";
import type { ArmConnection } from "./clients.js";

/** Microsoft.Compute's API version for scale sets and their instances (GA, 2024). */
export const COMPUTE_API_VERSION = "2024-07-01";
/** Microsoft.ContainerService's API version for reading a managed cluster. */
export const AKS_API_VERSION = "2024-09-01";

export interface ScaleSet {
  id: string;
  name: string;
  /** The AKS node pool it backs (its `aks-managed-poolName` tag). */
  pool: string | undefined;
  capacity: number;
}

export interface ScaleSetInstance {
  instanceId: string;
  name: string;
  /** The Kubernetes node name (the instance's computer name). */
  computerName: string | undefined;
}

export interface ClusterInfo {
  nodeResourceGroup: string;
  pools: { name: string; mode: string }[];
}

type Json = Record<string, unknown>;

/**
 * The few ARM calls the AKS node-failure drill makes, over REST with the SDK's pipeline (bearer token,
 * retries, the protocol tests' transport seam): read the cluster, list its node resource group's scale
 * sets and their instances, power one instance off (as `az vmss stop` does) and start it again. No
 * compute SDK is needed for five calls.
 */
export class VmssClient {
  private readonly client: ServiceClient;
  private readonly base: string;

  constructor(
    private readonly conn: ArmConnection,
    private readonly pollMs = 2000,
  ) {
    const cloud = cloudOf(conn.cloud);
    this.base = (conn.endpoint ?? cloud.resourceManager).replace(/\/$/, "");
    this.client = new ServiceClient({ credential: conn.credential, credentialScopes: [cloud.armScope], httpClient: conn.httpClient, endpoint: this.base });
  }

  private url(path: string, apiVersion: string): string {
    return `${this.base}${path}?api-version=${apiVersion}`;
  }

  private async send(method: "GET" | "POST", url: string, body?: unknown): Promise<PipelineResponse> {
    const req = createPipelineRequest({ url, method, body: body === undefined ? undefined : JSON.stringify(body) });
    if (body !== undefined) req.headers.set("content-type", "application/json");
    const res = await this.client.sendRequest(req);
    if (res.status >= 400) {
      let code = `HTTP ${res.status}`;
      let message = "";
      try {
        const e = (JSON.parse(res.bodyAsText ?? "{}") as { error?: { code?: string; message?: string } }).error;
        code = e?.code ?? code;
        message = e?.message ?? "";
      } catch {
        // not JSON: the status says enough
      }
      throw new UserError(
        `ARM ${method} ${new URL(url).pathname} failed: ${code}${message ? `: ${message}` : ""}`,
        res.status === 404 ? "check --cluster, --resource-group and --subscription" : "see the Azure portal's activity log",
      );
    }
    return res;
  }

  private async json(method: "GET" | "POST", url: string, body?: unknown): Promise<Json> {
    const res = await this.send(method, url, body);
    return res.bodyAsText ? (JSON.parse(res.bodyAsText) as Json) : {};
  }

  private rg(resourceGroup: string): string {
    return `/subscriptions/${encodeURIComponent(this.conn.subscriptionId)}/resourceGroups/${encodeURIComponent(resourceGroup)}`;
  }

  async cluster(resourceGroup: string, name: string): Promise<ClusterInfo> {
    const c = await this.json("GET", this.url(`${this.rg(resourceGroup)}/providers/Microsoft.ContainerService/managedClusters/${encodeURIComponent(name)}`, AKS_API_VERSION));
    const p = (c.properties ?? {}) as Json;
    const nodeResourceGroup = p.nodeResourceGroup as string | undefined;
    if (!nodeResourceGroup) throw new UserError(`cluster ${name} reports no node resource group`, "is it fully provisioned? see `az aks show`");
    const pools = ((p.agentPoolProfiles ?? []) as Json[]).map((a) => ({ name: String(a.name), mode: String(a.mode ?? "User") }));
    return { nodeResourceGroup, pools };
  }

  async scaleSets(nodeResourceGroup: string): Promise<ScaleSet[]> {
    const out: ScaleSet[] = [];
    let url: string | undefined = this.url(`${this.rg(nodeResourceGroup)}/providers/Microsoft.Compute/virtualMachineScaleSets`, COMPUTE_API_VERSION);
    while (url) {
      const page: Json = await this.json("GET", url);
      for (const v of (page.value ?? []) as Json[]) {
        const tags = (v.tags ?? {}) as Record<string, string>;
        out.push({ id: String(v.id), name: String(v.name), pool: tags["aks-managed-poolName"], capacity: Number((v.sku as Json | undefined)?.capacity ?? 0) });
      }
      url = page.nextLink as string | undefined;
    }
    return out;
  }

  private vmssPath(nodeResourceGroup: string, vmss: string): string {
    return `${this.rg(nodeResourceGroup)}/providers/Microsoft.Compute/virtualMachineScaleSets/${encodeURIComponent(vmss)}`;
  }

  async instances(nodeResourceGroup: string, vmss: string): Promise<ScaleSetInstance[]> {
    const out: ScaleSetInstance[] = [];
    let url: string | undefined = this.url(`${this.vmssPath(nodeResourceGroup, vmss)}/virtualMachines`, COMPUTE_API_VERSION);
    while (url) {
      const page: Json = await this.json("GET", url);
      for (const v of (page.value ?? []) as Json[]) {
        const os = ((v.properties as Json | undefined)?.osProfile ?? {}) as Json;
        out.push({ instanceId: String(v.instanceId), name: String(v.name), computerName: os.computerName as string | undefined });
      }
      url = page.nextLink as string | undefined;
    }
    return out;
  }

  /** Powers the instances off (the VM stops; still allocated, as `az vmss stop`), and waits for it. */
  powerOff(nodeResourceGroup: string, vmss: string, instanceIds: string[]): Promise<void> {
    return this.action(`${this.vmssPath(nodeResourceGroup, vmss)}/poweroff`, instanceIds);
  }

  /** Starts the instances again, and waits for it. */
  start(nodeResourceGroup: string, vmss: string, instanceIds: string[]): Promise<void> {
    return this.action(`${this.vmssPath(nodeResourceGroup, vmss)}/start`, instanceIds);
  }

  /** A scale-set action: 200, or 202 and then the long-running operation polled to its end. */
  private async action(path: string, instanceIds: string[]): Promise<void> {
    const res = await this.send("POST", this.url(path, COMPUTE_API_VERSION), { instanceIds });
    if (res.status !== 202 && res.status !== 201) return;
    const async = res.headers.get("azure-asyncoperation");
    const location = res.headers.get("location");
    const poll = async ?? location;
    if (!poll) return;
    for (;;) {
      const retry = Number(res.headers.get("retry-after") ?? NaN);
      await new Promise((r) => setTimeout(r, Number.isFinite(retry) ? Math.min(retry * 1000, this.pollMs) : this.pollMs));
      const p = await this.send("GET", poll);
      if (async) {
        const status = (p.bodyAsText ? (JSON.parse(p.bodyAsText) as Json).status : undefined) as string | undefined;
        if (status === "Succeeded") return;
        if (status === "Failed" || status === "Canceled") throw new UserError(`ARM ${path.split("/").pop()} ended ${status}`, "see the Azure portal's activity log");
      } else if (p.status !== 202) return;
    }
  }
}
