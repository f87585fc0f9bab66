import { UserError, errorMessage } from "../../errors.js";
import type { Kubectl } from "../../kube/kubectl.js";
import type { ClusterInfo, ScaleSet, ScaleSetInstance } from "../../provisioning/azure/vmss.js";
import { startLoad } from "./load.js";
import { summarize, type DrillLoadOptions, type NodeFailureReport } from "./report.js";

/** The ARM calls the drill makes (the VMSS client; a fake transport in protocol tests). */
export interface ScaleSetApi {
  cluster(resourceGroup: string, name: string): Promise<ClusterInfo>;
  scaleSets(nodeResourceGroup: string): Promise<ScaleSet[]>;
  instances(nodeResourceGroup: string, vmss: string): Promise<ScaleSetInstance[]>;
  powerOff(nodeResourceGroup: string, vmss: string, instanceIds: string[]): Promise<void>;
  start(nodeResourceGroup: string, vmss: string, instanceIds: string[]): Promise<void>;
}

export interface AksNodeFailureOptions extends DrillLoadOptions {
  arm: ScaleSetApi;
  cluster: string;
  resourceGroup: string;
  /** The node pool whose instance is stopped; default: the first User pool (else the only pool). */
  nodePool?: string;
  /** The instance id to stop; default: the pool's first instance. */
  instance?: string;
  /** Without it nothing is stopped: the drill names what it would stop and refuses. */
  yes: boolean;
  /** The Service's public address; else read from the LoadBalancer Service `service` with kubectl. */
  url?: string;
  service?: string;
  namespace?: string;
  /** Replicas restored = this Deployment's replicas all Ready, none on the stopped node (needs kubectl). */
  deployment?: string;
  kubectl?: Kubectl;
  /** Without `deployment`: how long the instance stays off under load, seconds. With it: at least this long. */
  durationSeconds: number;
}

type Json = Record<string, unknown>;

/** Sleeps, or less if the drill is interrupted. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

async function kubectlJson(k: Kubectl, args: string[]): Promise<Json> {
  const r = await k([...args, "-o", "json"]);
  if (r.code !== 0)
    throw new UserError(`kubectl ${args.join(" ")} failed: ${r.stderr.trim().split("\n")[0] ?? `exit ${r.code}`}`, "check the kubectl context (`kubectl config current-context`)");
  return JSON.parse(r.stdout) as Json;
}

/** The LoadBalancer Service's public address, as `http://ip:port/`. */
async function serviceUrl(k: Kubectl, service: string, ns: string): Promise<string> {
  const svc = await kubectlJson(k, ["get", "service", service, "-n", ns]);
  const ingress = (((svc.status as Json | undefined)?.loadBalancer as Json | undefined)?.ingress ?? []) as Json[];
  const host = (ingress[0]?.ip ?? ingress[0]?.hostname) as string | undefined;
  const port = Number((((svc.spec as Json | undefined)?.ports ?? []) as Json[])[0]?.port ?? 80);
  if (!host) throw new UserError(`service/${service} has no public address yet`, "wait for its EXTERNAL-IP (`kubectl get service`), or pass --url");
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}/`;
}

/** The Deployment's Ready replicas off `node`, and how many it wants. */
async function readyOff(k: Kubectl, deployment: string, ns: string, node: string): Promise<{ ready: number; desired: number; onNode: number }> {
  const d = await kubectlJson(k, ["get", "deployment", deployment, "-n", ns]);
  const desired = Number((d.spec as Json | undefined)?.replicas ?? 1);
  const labels = (((d.spec as Json | undefined)?.selector as Json | undefined)?.matchLabels ?? {}) as Record<string, string>;
  const selector = Object.entries(labels)
    .map(([a, b]) => `${a}=${b}`)
    .join(",");
  const pods = await kubectlJson(k, ["get", "pods", "-n", ns, ...(selector ? ["-l", selector] : [])]);
  let ready = 0;
  let onNode = 0;
  for (const p of (pods.items ?? []) as Json[]) {
    if ((p.metadata as Json | undefined)?.deletionTimestamp) continue;
    const conds = ((p.status as Json | undefined)?.conditions ?? []) as Json[];
    if (!conds.some((c) => c.type === "Ready" && c.status === "True")) continue;
    if ((p.spec as Json | undefined)?.nodeName === node) onNode++;
    else ready++;
  }
  return { ready, desired, onNode };
}

/** Which scale set and instance the drill stops. */
export async function chooseInstance(o: Pick<AksNodeFailureOptions, "arm" | "cluster" | "resourceGroup" | "nodePool" | "instance">) {
  const c = await o.arm.cluster(o.resourceGroup, o.cluster);
  const sets = await o.arm.scaleSets(c.nodeResourceGroup);
  const poolName = o.nodePool ?? (c.pools.find((p) => p.mode === "User") ?? c.pools[0])?.name;
  const set = sets.find((s) => s.pool === poolName) ?? (o.nodePool === undefined && sets.length === 1 ? sets[0] : undefined);
  if (!set) {
    throw new UserError(
      `no scale set for node pool ${poolName ?? "?"} in ${c.nodeResourceGroup} (found: ${sets.map((s) => `${s.name} (${s.pool ?? "no pool tag"})`).join(", ") || "none"})`,
      "name the pool with --node-pool",
    );
  }
  const instances = await o.arm.instances(c.nodeResourceGroup, set.name);
  if (instances.length < 2 && o.instance === undefined) {
    throw new UserError(
      `scale set ${set.name} has ${instances.length} instance(s): stopping it would leave the pool's replicas nowhere to go`,
      "run the drill on a pool with two nodes or more",
    );
  }
  const inst = o.instance === undefined ? [...instances].sort((a, b) => Number(a.instanceId) - Number(b.instanceId))[0]! : instances.find((i) => i.instanceId === o.instance);
  if (!inst) throw new UserError(`scale set ${set.name} has no instance ${o.instance} (instances: ${instances.map((i) => i.instanceId).join(", ")})`, "pick one with --instance");
  return { nodeResourceGroup: c.nodeResourceGroup, set, inst, pool: poolName };
}

/**
 * `akspilot drill node-failure --target aks`: the seed's drill on a real cluster. It finds the cluster's
 * node resource group and the pool's scale set through ARM, names the instance it will stop (and stops
 * nothing without `yes`), drives counted load at the Service's public address, powers the instance off
 * (as `az vmss stop`), waits (for the replicas to be Ready elsewhere when it can see them, else for the
 * duration), and starts the instance again — always, once it has asked for the power-off: after an error
 * and after an interruption too.
 */
export async function aksNodeFailureDrill(o: AksNodeFailureOptions): Promise<NodeFailureReport> {
  const ns = o.namespace ?? "default";
  if (o.url === undefined && o.service === undefined)
    throw new UserError("no address to drive load at", "pass --url http://<the Service's public IP>/ or --service <LoadBalancer Service name> (read with kubectl)");
  if (o.url !== undefined) {
    let u: URL | undefined;
    try {
      u = new URL(o.url);
    } catch {
      u = undefined;
    }
    if (u?.protocol !== "http:") throw new UserError(`--url ${o.url} is not an http:// address`, "pass the Service's public address, e.g. --url http://20.0.0.1/");
  }
  if ((o.service !== undefined || o.deployment !== undefined) && !o.kubectl)
    throw new UserError("--service and --deployment need kubectl", "install kubectl and point it at the cluster, or pass --url and leave out --deployment");
  const { nodeResourceGroup, set, inst, pool } = await chooseInstance(o);
  const node = inst.computerName ?? inst.name;
  const what = `instance ${inst.instanceId} (${node}) of scale set ${set.name} (node pool ${pool ?? "?"}) in ${nodeResourceGroup}`;
  if (!o.yes) throw new UserError(`the drill would power off ${what}`, "add --yes to run it (the instance is started again at the end)");
  const url = o.url ?? (await serviceUrl(o.kubectl!, o.service!, ns));
  o.progress(`drill node-failure (aks): ${o.rate} req/s at ${url}; powering off ${what}`);

  // With the Deployment in view: how many of its Ready replicas the instance holds (the report's replicasOnNode).
  const replicasOnNode = o.deployment !== undefined ? (await readyOff(o.kubectl!, o.deployment, ns, node)).onNode : 0;
  const load = startLoad(url, o.rate, o.requestTimeoutMs);
  const t0 = performance.now();
  const elapsed = () => performance.now() - t0;
  let asked = false;
  let stoppedAt = 0;
  let restoredSeconds: number | null = null;
  let completed = false;
  try {
    await pause(1000, o.signal);
    if (o.signal.aborted) throw new UserError("drill interrupted before the instance was powered off", "nothing was changed");
    asked = true;
    stoppedAt = elapsed();
    await o.arm.powerOff(nodeResourceGroup, set.name, [inst.instanceId]);
    o.progress(`${node} is powered off (${((elapsed() - stoppedAt) / 1000).toFixed(1)} s)`);
    const bound = stoppedAt + o.restoreTimeoutSeconds * 1000;
    if (o.deployment !== undefined) {
      while (elapsed() < bound && !o.signal.aborted) {
        const r = await readyOff(o.kubectl!, o.deployment, ns, node);
        if (r.ready >= r.desired) {
          restoredSeconds = (elapsed() - stoppedAt) / 1000;
          o.progress(`deployment/${o.deployment}: ${r.ready}/${r.desired} Ready off ${node} after ${restoredSeconds.toFixed(1)} s`);
          break;
        }
        await pause(1000, o.signal);
      }
      if (restoredSeconds === null && !o.signal.aborted) o.progress(`deployment/${o.deployment} not restored within ${o.restoreTimeoutSeconds} s`);
    }
    const until = stoppedAt + o.durationSeconds * 1000;
    if (elapsed() < until) await pause(until - elapsed(), o.signal);
    completed = !o.signal.aborted;
  } finally {
    if (asked) {
      o.progress(`starting ${node} again`);
      try {
        await o.arm.start(nodeResourceGroup, set.name, [inst.instanceId]);
      } catch (e) {
        o.progress(`could not start ${node} again: ${errorMessage(e)} — run \`az vmss start -g ${nodeResourceGroup} -n ${set.name} --instance-ids ${inst.instanceId}\``);
      }
    }
    if (!completed) await load.stop();
  }
  if (!completed) throw new UserError(`drill interrupted; instance ${inst.instanceId} (${node}) was started again`, "run it again to get figures");
  // A last second of load with the instance back: the return is part of the drill.
  await pause(1000, o.signal);
  const durationMs = elapsed();
  const samples = await load.stop();
  return summarize(samples, { mode: "aks", node, replicasOnNode, rate: o.rate, stoppedAt, restoredSeconds, durationMs });
}
