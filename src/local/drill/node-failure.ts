import { UserError } from "../../errors.js";
import type { RuntimeFile } from "../runtime-file.js";
import type { StatusV1 } from "../status.js";
import { startLoad } from "./load.js";
import { summarize, type DrillLoadOptions, type NodeFailureReport } from "./report.js";

export interface NodeFailureOptions extends DrillLoadOptions {
  runtime: RuntimeFile;
}

/** The control API of the running `up`, as the drill uses it (loopback, bearer token). */
function controlClient(rt: RuntimeFile) {
  return async <T>(method: "GET" | "POST", path: string): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(rt.controlUrl + path, { method, headers: { authorization: `Bearer ${rt.token}` }, signal: AbortSignal.timeout(10_000) });
    } catch (e) {
      throw new UserError(`cannot reach the runtime's control API at ${rt.controlUrl}: ${(e as Error).message}`, "is `akspilot up` still running?");
    }
    const body = (await res.json().catch(() => ({}))) as T & { error?: string };
    if (!res.ok) throw new UserError(`control API: ${body.error ?? res.statusText}`, "see `akspilot status`");
    return body;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The gateway's Deployment (the LoadBalancer Service is named after its app) and its ready pods per node. */
function placement(s: StatusV1) {
  const svc = s.services.find((x) => x.type === "LoadBalancer");
  if (!svc || !s.gatewayUrl) throw new UserError(`blueprint ${s.blueprint} has no gateway to drill against`, "run `akspilot up resilient-web` here");
  const dep = s.deployments.find((d) => d.name === svc.name && d.cluster === svc.cluster);
  if (!dep) throw new UserError(`no Deployment behind service/${svc.name}`, "see `akspilot status`");
  const ready = s.pods.filter((p) => p.deployment === dep.name && p.cluster === dep.cluster && p.ready && p.phase === "Running");
  return { dep, ready };
}

/**
 * `akspilot drill node-failure`: the seed's drill, measured. Against a running `up`, it drives its own
 * counted load at gatewayUrl, switches off the node holding the most replicas, waits until every replica is
 * Ready again elsewhere, switches the node back on, and reports what the client saw. The node is switched
 * back on whatever happens (an error, Ctrl-C) once the drill has stopped it.
 */
export async function nodeFailureDrill(o: NodeFailureOptions): Promise<NodeFailureReport> {
  const call = controlClient(o.runtime);
  const before = await call<StatusV1>("GET", "/v1/status");
  const { dep, ready } = placement(before);
  if (dep.ready < dep.desired || dep.desired === 0) {
    throw new UserError(`deployment/${dep.name} has ${dep.ready}/${dep.desired} replicas Ready`, "wait until every replica is Ready (`akspilot status`), then run the drill");
  }
  const perNode = new Map<string, number>();
  for (const p of ready) perNode.set(p.node!, (perNode.get(p.node!) ?? 0) + 1);
  const [node, replicasOnNode] = [...perNode.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]!;
  const others = before.nodes.filter((n) => n.cluster === dep.cluster && n.name !== node && n.phase === "Ready" && n.schedulable);
  if (others.length === 0)
    throw new UserError(
      `node ${node} is the only Ready node of cluster ${dep.cluster}: its replicas would have nowhere to go`,
      "run the drill on a cluster with two nodes or more",
    );
  const mode = before.gateway?.mode ?? "kube";
  o.progress(`drill node-failure: ${o.rate} req/s at ${before.gatewayUrl} (${mode}); stopping ${node} (${replicasOnNode} of ${dep.desired} replicas)`);

  const load = startLoad(before.gatewayUrl!, o.rate, o.requestTimeoutMs);
  const t0 = performance.now();
  const elapsed = () => performance.now() - t0;
  let stopped = false;
  let restoredSeconds: number | null = null;
  let stoppedAt = 0;
  let completed = false;
  try {
    // A steady second first: the figures before the failure are the baseline the rest is read against.
    await sleep(1000);
    if (o.signal.aborted) throw new UserError("drill interrupted before the node was stopped", "nothing was changed");
    await call("POST", `/v1/nodes/${encodeURIComponent(node)}/stop`);
    stopped = true;
    stoppedAt = elapsed();
    const bound = stoppedAt + o.restoreTimeoutSeconds * 1000;
    while (elapsed() < bound && !o.signal.aborted) {
      const s = await call<StatusV1>("GET", "/v1/status");
      const { dep: d, ready: r } = placement(s);
      if (r.filter((p) => p.node !== node).length >= d.desired) {
        restoredSeconds = (elapsed() - stoppedAt) / 1000;
        break;
      }
      await sleep(100);
    }
    if (restoredSeconds !== null) o.progress(`replicas Ready again elsewhere after ${restoredSeconds.toFixed(2)} s; starting ${node}`);
    else if (!o.signal.aborted) o.progress(`replicas not restored within ${o.restoreTimeoutSeconds} s; starting ${node}`);
    completed = !o.signal.aborted;
  } finally {
    if (stopped) {
      await call("POST", `/v1/nodes/${encodeURIComponent(node)}/start`).catch((e: unknown) => {
        o.progress(`could not start ${node} again: ${(e as Error).message} — run \`akspilot node start ${node}\``);
      });
    }
    if (!completed) await load.stop();
  }
  if (!completed) throw new UserError(`drill interrupted; node ${node} was started again`, "run it again to get figures");
  // The node back Ready, then a last second of load (and the rest of --duration): the return is part of the drill.
  const nodeBound = elapsed() + 60_000;
  while (elapsed() < nodeBound && !o.signal.aborted) {
    const s = await call<StatusV1>("GET", "/v1/status").catch(() => undefined);
    if (s?.nodes.find((n) => n.name === node)?.phase === "Ready") break;
    await sleep(100);
  }
  const until = Math.max(elapsed() + 1000, o.durationSeconds * 1000);
  while (elapsed() < until && !o.signal.aborted) await sleep(Math.min(100, until - elapsed()));
  const durationMs = elapsed();
  const samples = await load.stop();
  return summarize(samples, { mode, node, replicasOnNode, rate: o.rate, stoppedAt, restoredSeconds, durationMs });
}
