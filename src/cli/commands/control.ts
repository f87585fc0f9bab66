import type { Command } from "commander";
import { UserError } from "../../errors.js";
import { controlRequest, runningUp } from "../control-client.js";
import { formatEvent, type ClusterEvent } from "../../local/cluster/events.js";
import { intOption, numberOption } from "../options.js";
import type { StatusV1 as Status } from "../../local/status.js";

const runtime = () => runningUp();

async function call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  const { ok, status, payload } = await controlRequest<T>(runtime(), method, path, body);
  if (!ok) throw new UserError(`control API: ${payload.error ?? `HTTP ${status}`}`, "see `akspilot status`");
  return payload;
}

function table(rows: (string | number)[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => String(c).padEnd(widths[i]!)).join("  ")).join("\n");
}

function printStatus(s: Status): void {
  const out: string[] = [];
  const multi = s.clusters.length > 1;
  const c = (name: string) => (multi ? [name] : []);
  out.push(
    `blueprint ${s.blueprint} · policy ${s.policy}${s.paused ? " (paused)" : ""}${s.queueDepth !== null ? ` · queue depth ${s.queueDepth}` : ""} · pod-seconds ${s.podSeconds} · node-seconds ${s.nodeSeconds}`,
  );
  out.push(
    `clusters: ${s.clusters.map((x) => `${x.name}${x.kubernetesVersion ? ` (Kubernetes ${x.kubernetesVersion})` : ""}`).join(", ")}${s.gatewayUrl ? ` · gateway ${s.gatewayUrl}${s.gateway ? ` (${s.gateway.mode})` : ""}` : ""}`,
  );
  const h = (...cols: string[]) => [...(multi ? ["CLUSTER"] : []), ...cols];
  out.push(
    "",
    table([
      h("DEPLOYMENT", "DESIRED", "CURRENT", "READY", "PENDING", "TERMINATING"),
      ...s.deployments.map((d) => [...c(d.cluster), d.name, d.desired, d.current, d.ready, d.pending, d.terminating]),
    ]),
  );
  out.push(
    "",
    table([
      h("NODE", "TYPE", "STATUS", "POOL", "ZONE", "PODS", "CPU REQ/ALLOC", "AGE"),
      ...s.nodes.map((n) => [
        ...c(n.cluster),
        n.name,
        n.type,
        `${n.phase}${n.powered ? "" : " (VM off)"}${n.schedulable || n.phase !== "Ready" ? "" : ",SchedulingDisabled"}`,
        `${n.pool}${n.poolKind === "nodePool" ? " (karpenter)" : ""}`,
        n.zone ?? "-",
        n.pods,
        `${n.cpuRequestedMillis}m/${n.cpuAllocatableMillis}m`,
        `${n.ageSeconds}s`,
      ]),
    ]),
  );
  if (s.pods.length > 0) {
    out.push(
      "",
      table([
        h("POD", "STATUS", "READY", "NODE", "PORT", "IN-FLIGHT", "PROCESSED", "RESTARTS", "AGE"),
        ...s.pods.map((p) => [
          ...c(p.cluster),
          p.name,
          p.phase === "Running" && p.waiting ? p.waiting : p.phase,
          p.ready ? "1/1" : "0/1",
          p.node ?? "<none>",
          p.port ?? "-",
          p.inFlight,
          p.processed,
          p.restarts,
          `${p.ageSeconds}s`,
        ]),
      ]),
    );
    for (const p of s.pods) {
      if (p.phase === "Pending" && p.waiting && p.waiting !== "Pending") out.push(`  ${p.name}: ${p.waiting}`);
      if (p.lastFailure) out.push(`  ${p.name} last failed: ${p.lastFailure}`);
    }
  }
  for (const svc of s.services) {
    const ready = svc.endpoints.filter((e) => e.ready);
    out.push(
      "",
      `service/${svc.name} (${svc.type}${multi ? `, cluster ${svc.cluster}` : ""}) ${svc.url} → ${ready.length} ready endpoint(s): ${ready.map((e) => `${e.pod}@${e.node}:${e.port}`).join(", ") || "none"}`,
    );
  }
  if (s.gateway?.mode === "akspilot") {
    const g = s.gateway;
    out.push(
      "",
      `gateway (akspilot): ${g.requests} requests, ${g.retries} retries (${g.retriesRefused} refused by the retry budget), ${g.held} held for a replica; endpoints: ${g.endpoints.map((e) => `${e.pod} ${e.ejected ? "ejected" : e.healthy ? "healthy" : "unhealthy"}${e.inFlight ? ` (${e.inFlight} in flight)` : ""}`).join(", ") || "none"}`,
    );
  }
  if (s.blueGreen) {
    const b = s.blueGreen;
    const tries = s.gateway?.byCluster
      ? ` · tries ${Object.entries(s.gateway.byCluster)
          .map(([c, t]) => `${c} ${t.requests} (${t.failed} failed)`)
          .join(", ")}`
      : "";
    out.push(
      "",
      `blue-green: stage ${b.stage} (${b.phase}) · serving ${b.activeCluster}${b.standbyCluster ? ` · standby ${b.standbyCluster}` : ""}${b.targetVersion ? ` · target ${b.targetVersion}` : ""} · weights ${Object.entries(
        b.weights,
      )
        .map(([c, w]) => `${c} ${w}%`)
        .join(", ")} · owner ${b.owner ? `${b.owner.holder} (generation ${b.owner.generation})` : "none"}${tries}`,
    );
  }
  if (s.autoscaler) out.push("", ...Object.entries(s.autoscaler.notes).map(([loop, note]) => `${loop}: ${note}`));
  // Workload identity: each pod's chain, each link passed or Azure's error (see `identity explain`).
  const wi = (s.extra as { workloadIdentity?: { chains?: Record<string, Array<{ link: string; ok: boolean; detail: string; error?: string }>> } }).workloadIdentity;
  for (const [app, links] of Object.entries(wi?.chains ?? {})) {
    out.push("", `workload identity of ${app}:`, ...links.map((l) => `  ${l.ok ? "✓" : "✗"} ${l.link}: ${l.detail}${l.error ? ` — ${l.error}` : ""}`));
  }
  // External Secrets (the Airflow platform): each ExternalSecret's Ready condition, each Secret's keys (never values).
  const es = s.extra as {
    externalSecrets?: Array<{ name: string; ready: boolean; reason: string; message: string; keys: string[]; refreshTime?: string }>;
    secrets?: Array<{ name: string; keys: string[] }>;
    taskPods?: Array<{ name: string; secretEnv?: string[]; volumes?: Array<{ name: string; secret: string; mountPath: string; syncedAt?: string; updatedAt?: string }> }>;
  };
  for (const e of es.externalSecrets ?? [])
    out.push(
      "",
      `externalsecret/${e.name}: Ready=${e.ready ? "True" : "False"} ${e.reason}${e.refreshTime ? ` (refreshed ${e.refreshTime})` : ""}${e.ready ? "" : ` — ${e.message}`}`,
    );
  for (const x of es.secrets ?? []) out.push(`secret/${x.name}: keys ${x.keys.join(", ")}`);
  // How the task pods read those Secrets (names and keys only).
  for (const p of es.taskPods ?? []) {
    for (const e of p.secretEnv ?? []) out.push(`pod/${p.name}: env ${e}`);
    for (const v of p.volumes ?? [])
      out.push(
        `pod/${p.name}: volume ${v.name} ← secret ${v.secret} at ${v.mountPath}${v.syncedAt ? `, synced ${v.syncedAt}` : ""}${v.updatedAt ? `, updated ${v.updatedAt}` : ""}`,
      );
  }
  process.stdout.write(out.join("\n") + "\n");
}

export function registerControlCommands(program: Command): void {
  program
    .command("status")
    .description("pods, nodes, queue depth and replicas of the running `akspilot up`")
    .option("--json", "print as JSON")
    .action(async (f: { json?: boolean }) => {
      const s = await call<Status>("GET", "/v1/status");
      if (f.json) process.stdout.write(JSON.stringify(s) + "\n");
      else printStatus(s);
    });

  program
    .command("events")
    .description("cluster events (like kubectl get events): every scaling decision with its reason")
    .option("--follow", "keep streaming new events")
    .option("--json", "one JSON object per event")
    .action(async (f: { follow?: boolean; json?: boolean }) => {
      const print = (e: ClusterEvent) => process.stdout.write((f.json ? JSON.stringify(e) : formatEvent(e)) + "\n");
      if (!f.follow) {
        for (const e of await call<ClusterEvent[]>("GET", "/v1/events")) print(e);
        return;
      }
      const rt = runtime();
      const res = await fetch(`${rt.controlUrl}/v1/events?follow=1`, { headers: { authorization: `Bearer ${rt.token}` } }).catch((e: Error) => {
        throw new UserError(`cannot reach the runtime's control API at ${rt.controlUrl}: ${e.message}`, "is `akspilot up` still running?");
      });
      if (!res.ok || !res.body) throw new UserError(`control API: HTTP ${res.status}`, "see `akspilot status`");
      const decoder = new TextDecoder();
      let buf = "";
      for await (const chunk of res.body) {
        buf += decoder.decode(chunk as Uint8Array, { stream: true });
        let i: number;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (frame.startsWith("data: ")) print(JSON.parse(frame.slice(6)) as ClusterEvent);
        }
      }
    });

  program
    .command("scale")
    .description("set a deployment's replicas (the autoscaler may change it again unless --pause)")
    .argument("<replicas>", "replica count", intOption(0, 1000))
    .option("--deployment <name>", "deployment (default: the blueprint's first)")
    .option("--cluster <name>", "cluster of the deployment (default: the first that has it)")
    .option("--pause", "pause the autoscaler (like KEDA's paused annotation)")
    .option("--resume", "resume the autoscaler")
    .action(async (replicas: number, f: { deployment?: string; cluster?: string; pause?: boolean; resume?: boolean }) => {
      if (f.pause && f.resume) throw new UserError("--pause and --resume together", "pass one of them");
      const r = await call<{ deployment: string; replicas: number; paused: boolean }>("POST", "/v1/scale", {
        replicas,
        ...(f.deployment ? { deployment: f.deployment } : {}),
        ...(f.cluster ? { cluster: f.cluster } : {}),
        ...(f.pause ? { pause: true } : f.resume ? { pause: false } : {}),
      });
      process.stdout.write(`deployment/${r.deployment} scaled to ${r.replicas}${r.paused ? " (autoscaler paused)" : ""}\n`);
    });

  program
    .command("load")
    .description(
      "send N messages at once through the running `akspilot up`'s producer (with --identity: as the producer's workload identity) and wait until storage has answered each",
    )
    // The control API's bound (LOAD_MAX): said here too, so that a bad count is refused before any call.
    .argument("<n>", "how many messages (or requests with --requests)", intOption(1, 100_000))
    .option("--no-wait", "return once the burst is accepted (its outcome is a LoadBurstDone event)")
    .option("--requests", "a blueprint with a gateway: send N HTTP requests at the gateway instead (the outcome is an event)")
    .option("--rate <per-second>", "with --requests: requests per second (default 100)", numberOption(1, 1000))
    .action(async (n: number, f: { wait: boolean; requests?: boolean; rate?: number }) => {
      if (f.rate !== undefined && !f.requests) throw new UserError("--rate applies with --requests", "drop --rate, or add --requests for a gateway");
      if (f.requests) {
        const r = await call<{ gatewayUrl: string; requests: number; rate: number }>("POST", "/v1/load", { requests: n, ...(f.rate !== undefined ? { rate: f.rate } : {}) });
        process.stdout.write(`${r.requests} request(s) at ${r.rate}/s to ${r.gatewayUrl}: the outcome will be a LoadBurstDone event (\`akspilot events\`)\n`);
        return;
      }
      type Accepted = { queue: string; messages: number; firstIndex: number; identity?: string; serviceAccount?: string };
      const said = (a: Accepted) =>
        `queue ${a.queue}${a.identity ? ` as the workload identity ${a.identity} of ${a.serviceAccount}` : ""} (COUNT ${a.firstIndex}…${a.firstIndex + a.messages - 1})`;
      if (!f.wait) {
        const a = await call<Accepted>("POST", "/v1/load", { messages: n });
        process.stdout.write(`${a.messages} message(s) accepted for ${said(a)}: the outcome will be a LoadBurstDone event (\`akspilot events\`)\n`);
        return;
      }
      const rt = runtime();
      const res = await fetch(`${rt.controlUrl}/v1/load`, {
        method: "POST",
        headers: { authorization: `Bearer ${rt.token}`, "content-type": "application/json" },
        body: JSON.stringify({ messages: n, wait: true }),
      }).catch((e: Error) => {
        throw new UserError(`cannot reach the runtime's control API at ${rt.controlUrl}: ${e.message}`, "is `akspilot up` still running?");
      });
      if (!res.ok || !res.body) {
        const payload = (await res.json().catch(() => ({}))) as { error?: string };
        throw new UserError(`load: ${payload.error ?? `HTTP ${res.status}`}`);
      }
      let accepted: Accepted | undefined;
      const text = await res.text().catch(() => "");
      for (const raw of text.split("\n").filter(Boolean)) {
        let line: { accepted?: Accepted; done?: { sent: number }; error?: string };
        try {
          line = JSON.parse(raw) as typeof line;
        } catch {
          break; // a line cut short: the run stopped while answering
        }
        if (line.accepted) accepted = line.accepted;
        if (line.error) throw new UserError(`load: ${line.error}`);
        if (line.done && accepted) {
          process.stdout.write(`${line.done.sent} message(s) sent to ${said(accepted)}\n`);
          return;
        }
      }
      // The stream ended without an outcome: the run stopped (or was killed) while sending.
      throw new UserError("load: the run ended before the burst did", "see `akspilot events` of the next run, or the run's report", 1);
    });

  const node = program.command("node").description("switch a node's VM off or on, drain it, or (un)cordon it");
  const actions = {
    stop: "switch the VM off: its pods stop answering; NotReady after the node-monitor grace period, then eviction",
    start: "switch the VM back on",
    cordon: "mark the node unschedulable",
    uncordon: "mark the node schedulable again",
  } as const;
  for (const [action, help] of Object.entries(actions)) {
    node
      .command(action)
      .description(help)
      .argument("<name>", "node name (see `akspilot status`)")
      .action(async (name: string) => {
        if (name.trim() === "") throw new UserError("the node name is empty", "name a node from `akspilot status`");
        await call("POST", `/v1/nodes/${encodeURIComponent(name)}/${action}`);
        process.stdout.write(`node/${name} ${{ stop: "stopped", start: "started", cordon: "cordoned", uncordon: "uncordoned" }[action as keyof typeof actions]}\n`);
      });
  }
  node
    .command("drain")
    .description("cordon, then evict every pod honouring its PodDisruptionBudget (waits, like kubectl, while one blocks)")
    .argument("<name>", "node name (see `akspilot status`)")
    .action(async (name: string) => {
      if (name.trim() === "") throw new UserError("the node name is empty", "name a node from `akspilot status`");
      const rt = runtime();
      const res = await fetch(`${rt.controlUrl}/v1/nodes/${encodeURIComponent(name)}/drain`, { method: "POST", headers: { authorization: `Bearer ${rt.token}` } }).catch(
        (e: Error) => {
          throw new UserError(`cannot reach the runtime's control API at ${rt.controlUrl}: ${e.message}`, "is `akspilot up` still running?");
        },
      );
      if (!res.ok || !res.body) {
        const payload = (await res.json().catch(() => ({}))) as { error?: string };
        throw new UserError(`control API: ${payload.error ?? res.statusText}`, "see `akspilot status`");
      }
      process.stdout.write(`node/${name} cordoned\n`);
      const decoder = new TextDecoder();
      let buf = "";
      for await (const chunk of res.body) {
        buf += decoder.decode(chunk as Uint8Array, { stream: true });
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = JSON.parse(buf.slice(0, i)) as { line?: string; done?: boolean; error?: string };
          buf = buf.slice(i + 1);
          if (line.error) throw new UserError(`drain: ${line.error}`, "see `akspilot events`");
          if (line.line) process.stdout.write(`${line.line}\n`);
          if (line.done) process.stdout.write(`node/${name} drained\n`);
        }
      }
    });
}
