import { Option, type Command } from "commander";
import { getBlueprint } from "../../blueprints/index.js";
import { UserError } from "../../errors.js";
import { intOption, numberOption } from "../options.js";
import { clip } from "../../util/text.js";
import type { ScalingRule } from "../../scaling/scaledobject.js";
import type { PoolSettings } from "../../scaling/karpenter.js";
import type { PolicyName } from "../../scaling/policy.js";
import type { EdwReport } from "../../local/edw/driver.js";
import type { WebReport } from "../../local/web/driver.js";
import type { BlueprintDriver } from "../../local/drivers/driver.js";
import type { DashboardServing } from "../../local/up.js";

// The runtime, storage SDKs and parsers load when a command runs, not for `--help` or `--version`.
interface UpFlags {
  messages?: number;
  rate?: number;
  burst?: number;
  burstEvery?: number;
  producerConcurrency: number;
  replicas?: number;
  workMs?: number;
  concurrency?: number;
  batchSize: number;
  visibilityTimeout?: number;
  maxDequeue: number;
  failMatch?: string;
  data?: string;
  exitWhenDrained?: boolean;
  exitWhenZero?: boolean;
  json?: boolean;
  quiet?: boolean;
  timeScale: number;
  drainTimeout: number;
  policy: PolicyName;
  scaledobject?: string;
  nodepool?: string;
  nodeStartupSeconds?: number;
  timings?: string;
  hpaPhase?: string;
  seed?: number;
  nodeMonitorGrace?: number;
  gatewayPort?: number;
  gatewayEngine?: "node" | "haproxy";
  gateway?: "kube" | "akspilot";
  exitWhenReady?: boolean;
  identity?: string;
  producerIdentity?: string;
  host?: string;
  dashboard: boolean;
  scaleToZero?: number;
  exitWhenDone?: boolean;
  taskImage?: string;
  logsRole: boolean;
  refreshInterval?: string;
  secretSync?: number;
  taskSeconds?: number;
}

/** Flags that only the EDW blueprint's driver understands (storage, producer, consumer, autoscaling). */
const EDW_ONLY: (keyof UpFlags)[] = [
  "hpaPhase",
  "seed",
  "messages",
  "rate",
  "burst",
  "burstEvery",
  "replicas",
  "workMs",
  "concurrency",
  "visibilityTimeout",
  "failMatch",
  "data",
  "exitWhenDrained",
  "exitWhenZero",
  "scaledobject",
  "identity",
  "producerIdentity",
];

/** The ScaledObject and NodePool the run obeys: the blueprint's (the seed's) unless files are given. */
export async function scalingInputs(
  blueprint: ReturnType<typeof getBlueprint>,
  f: { scaledobject?: string; nodepool?: string },
): Promise<{ rule: ScalingRule; pool: PoolSettings }> {
  const [{ readUserFile }, { parseScaledObjectYaml, scalingRuleFrom }, { parseNodePoolYaml, poolSettings }, { nodeTypesFor }] = await Promise.all([
    import("../../util/user-file.js"),
    import("../../scaling/scaledobject.js"),
    import("../../scaling/karpenter.js"),
    import("../../scaling/catalog.js"),
  ]);
  const parsed = f.scaledobject ? parseScaledObjectYaml(readUserFile(f.scaledobject, "--scaledobject"), clip(f.scaledobject)).rule : scalingRuleFrom(blueprint.scaledObject);
  // What the blueprint's cluster version would drop (HPA tolerance before 1.34) is dropped here too, and said.
  const { ruleForKubernetesVersion } = await import("../../scaling/compat.js");
  const { rule, warnings } = ruleForKubernetesVersion(parsed, blueprint.clusters[0]?.kubernetesVersion);
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  const firstPool = blueprint.clusters[0]?.nodePools?.[0];
  // Node sizes as the first cluster's DaemonSets (its add-ons) leave them.
  const { catalog } = nodeTypesFor(blueprint.clusters[0]?.addOns);
  const pool = f.nodepool
    ? parseNodePoolYaml(readUserFile(f.nodepool, "--nodepool"), clip(f.nodepool), catalog).settings
    : firstPool
      ? poolSettings(firstPool, catalog)
      : undefined;
  if (!pool) throw new UserError(`blueprint ${blueprint.name} has no Karpenter NodePool`, "drop --nodepool");
  return { rule, pool };
}

/** The HPA's resync phase for `up`: as `simulate` resolves it, so both take the same phase from the same seed. */
async function hpaPhase(f: { hpaPhase?: string; seed?: number }): Promise<number> {
  const { parsePhaseFlag, resolveHpaPhase } = await import("../../scaling/phase.js");
  return resolveHpaPhase(parsePhaseFlag(f.hpaPhase), f.seed ?? 1);
}

/** A live status line: rewritten in place on a terminal, every 10 s otherwise. */
function statusWriter(quiet: boolean): { write: (line: string) => void; end: () => void } {
  const tty = process.stderr.isTTY;
  let last = 0;
  return {
    write(line) {
      if (quiet) return;
      if (tty) process.stderr.write(`\r\x1b[2K${line}`);
      else if (Date.now() - last >= 10_000) {
        last = Date.now();
        process.stderr.write(`${line}\n`);
      }
    },
    end() {
      if (tty && !quiet) process.stderr.write("\n");
    },
  };
}

/** The dashboard `up` serves: loopback unless --host says otherwise (then with a warning), its URL printed first. */
async function dashboardOption(f: UpFlags): Promise<DashboardServing | undefined> {
  if (!f.dashboard) return undefined;
  const { isLoopback, startDashboard } = await import("../../dashboard/server.js");
  if (f.host !== undefined && !isLoopback(f.host)) {
    process.stderr.write(`warning: the dashboard listens on ${clip(f.host)}, beyond this machine: anyone who reaches it with the token controls this run\n`);
  }
  return {
    start: (control) => startDashboard({ controlUrl: control.url, token: control.token, ...(f.host !== undefined ? { host: f.host } : {}) }),
    announce: (url) => {
      if (!f.quiet) process.stderr.write(`dashboard: ${url}\n`);
    },
  };
}

/** Aborts on the first SIGINT/SIGTERM; a second one exits at once (children die with the tool). */
function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  let hits = 0;
  const on = (sig: NodeJS.Signals) => {
    hits++;
    if (hits === 1) {
      process.stderr.write(`\n${sig}: stopping gracefully (again to force)\n`);
      ac.abort(new Error(sig));
    } else process.exit(130);
  };
  process.on("SIGINT", on);
  process.on("SIGTERM", on);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
    },
  };
}

export function registerRunCommands(program: Command): void {
  program
    .command("up")
    .description("run a blueprint locally: its clusters, nodes and pods, Services and gateway (edw adds storage, producer, autoscaling)")
    .argument("<blueprint>", "blueprint to run (edw, resilient-web, bluegreen, airflow)")
    .option("--messages <n>", "scripted run: send N messages (as fast as allowed unless --rate is given)", intOption(1, 10_000_000))
    .option("--rate <msgs/s>", "steady producer rate (interactive default 2)", numberOption(0, 100_000))
    .option("--burst <n>", "extra messages at once, at the start and every --burst-every seconds", intOption(0, 10_000_000))
    .option("--burst-every <s>", "seconds between bursts (interactive default 60)", numberOption(0.001))
    .option("--producer-concurrency <n>", "sends in flight at once", intOption(1, 1024), 32)
    .option("--replicas <n>", "fixed consumer replicas (no autoscaling)", intOption(0, 1000))
    .option("--work-ms <ms>", "simulated work per message (scripted default 0, interactive 500)", intOption(0, 3_600_000))
    .option("--concurrency <n>", "messages a consumer processes at once (scripted default 32, interactive 2)", intOption(1, 1024))
    .option("--batch-size <n>", "messages per receive", intOption(1, 32), 32)
    .option("--visibility-timeout <s>", "receive visibility timeout (default max(60, 2×work+30))", intOption(1, 604_800))
    .option("--max-dequeue <n>", "deliveries before a message goes to the poison queue", intOption(1, 1000), 5)
    .option("--fail-match <regex>", "fault injection: messages matching fail in processing")
    .option("--data <dir>", "keep storage durably in DIR (default: in memory)")
    .option("--exit-when-drained", "stop once every sent message is handled")
    .option("--exit-when-zero", "with --exit-when-drained: once drained, stay until the autoscaler is back to zero replicas (reports backToZeroSeconds)")
    .option("--json", "print the run report as one JSON line on stdout")
    .option("--quiet", "no status line")
    .option("--time-scale <x>", "run controller timings x times faster (KEDA, HPA, Karpenter, probes)", numberOption(0.01, 1000), 1)
    .option("--drain-timeout <s>", "scripted run: give up draining after S seconds", numberOption(1), 600)
    .addOption(new Option("--policy <name>", "replica autoscaling: the seed's KEDA ScaledObject, or predictive").choices(["keda", "predictive"]).default("keda"))
    .option("--scaledobject <file>", "KEDA ScaledObject YAML to obey (default: the seed's)")
    .option("--nodepool <file>", "Karpenter NodePool YAML (default: the seed's)")
    .option(
      "--identity <name>",
      "consumer pods act as this identity from `akspilot deploy edw --target local`; its role assignments are enforced (the producer then runs as a pod with its own)",
    )
    .option("--producer-identity <name>", "with --identity: the producer pod's identity (default: the one federated with the producer's service account)")
    .option("--node-startup-seconds <s>", "VM create + registration time of a new node (cluster time; default: the timing profile's, 60)", numberOption(0, 3600))
    .option("--hpa-phase <s|best|worst|random>", "the HPA's resync phase after KEDA's poll, seconds in [0, 15) (default: random from --seed)")
    .option("--seed <n>", "seed of the random HPA phase (default 1)", intOption(0, 2 ** 31 - 1))
    .option("--timings <file.yaml>", "timing profile: nodeBootSeconds, imagePullSeconds, vmDeleteSeconds, nodeMonitorGraceSeconds, … (docs/simulator.md)")
    .option("--node-monitor-grace <s>", "silence before a stopped node is NotReady (default: the cluster version's, 40 s or 50 s)", numberOption(1, 3600))
    .option("--gateway-port <port>", "fixed loopback port of the gateway (gatewayUrl)", intOption(1, 65535))
    .addOption(
      new Option(
        "--gateway <mode>",
        "what answers at gatewayUrl: kube = the LoadBalancer Service's L4 proxy (AKS's default, no retries), akspilot = the health-checked, retrying HTTP gateway (default for resilient-web)",
      ).choices(["kube", "akspilot"]),
    )
    .addOption(
      new Option(
        "--gateway-engine <engine>",
        "what carries the akspilot gateway's requests: node = the built-in gateway (default), haproxy = an haproxy process akspilot configures and steers (needs `apt-get install haproxy`)",
      ).choices(["node", "haproxy"]),
    )
    .option("--exit-when-ready", "web blueprints: stop once every replica is Ready and print the report")
    .option("--host <address>", "address the dashboard listens on (default 127.0.0.1; another address is reachable from the network)")
    .option("--no-dashboard", "do not serve the live dashboard")
    .option(
      "--scale-to-zero <s>",
      "web blueprints: an HTTP scale rule on the gateway's app (KEDA HTTP add-on style): to zero after S seconds without a request, back on the first one",
      numberOption(0, 86_400),
    )
    .option("--exit-when-done", "airflow: stop once the ExternalSecret has synced and the task pod has finished; exit 2 with the first failure")
    .option("--task-image <repository:tag>", "airflow: the task pod's image in the registry (default: the blueprint's Airflow image)")
    .option("--no-logs-role", "airflow: do not grant the identity Storage Blob Data Contributor on the logs container (the task's write is then refused)")
    .option("--refresh-interval <duration>", "airflow: the ExternalSecret's refreshInterval instead of the blueprint's 1h (e.g. 10s to watch a vault change arrive)")
    .option("--secret-sync <s>", "airflow: how often the kubelet refreshes mounted Secrets (AKS: up to about a minute; default 5)", numberOption(0.1, 3600))
    .option("--task-seconds <s>", "airflow: how long the task works before it writes its log (default 0)", numberOption(0, 86_400))
    .action(async (name: string, f: UpFlags) => {
      const blueprint = getBlueprint(name);
      const afOnly = f.exitWhenDone
        ? "exit-when-done"
        : f.taskImage !== undefined
          ? "task-image"
          : f.logsRole === false
            ? "no-logs-role"
            : f.refreshInterval !== undefined
              ? "refresh-interval"
              : f.secretSync !== undefined
                ? "secret-sync"
                : f.taskSeconds !== undefined
                  ? "task-seconds"
                  : undefined;
      if (afOnly && !blueprint.airflow) throw new UserError(`--${afOnly} applies to the airflow blueprint only`, `drop it for ${name}`);
      if (f.scaleToZero !== undefined) applyScaleToZero(blueprint, f.scaleToZero, f.gateway ?? (blueprint.name === "resilient-web" ? "akspilot" : "kube"));
      const status = statusWriter(Boolean(f.quiet));
      const interrupt = interruptSignal();
      const hasLoadBalancer = blueprint.apps.some((a) => a.service?.type === "LoadBalancer");
      // Blue-green's gateway is the Application Gateway in front of its clusters: its port can be fixed, its mode cannot.
      if (blueprint.blueGreen && f.gateway !== undefined)
        throw new UserError(`--gateway: blueprint ${name} is always served by its Application Gateway (the akspilot gateway)`, "drop --gateway; --gateway-port fixes its port");
      if (!hasLoadBalancer && (f.gateway !== undefined || (f.gatewayPort !== undefined && !blueprint.blueGreen))) {
        throw new UserError(`--${f.gateway !== undefined ? "gateway" : "gateway-port"}: blueprint ${name} has no LoadBalancer Service, so no gateway`, `drop it for ${name}`);
      }
      if (f.gatewayEngine !== undefined) {
        const mode = f.gateway ?? (blueprint.name === "resilient-web" ? "akspilot" : "kube");
        if (blueprint.blueGreen || !hasLoadBalancer || mode !== "akspilot")
          throw new UserError(
            `--gateway-engine: it chooses what carries the akspilot gateway, and ${blueprint.blueGreen || !hasLoadBalancer ? `blueprint ${name} has no app gateway` : "--gateway kube has none"}`,
            blueprint.blueGreen || !hasLoadBalancer ? `drop it for ${name}` : "drop --gateway kube, or drop --gateway-engine",
          );
      }
      const { loadTimings } = await import("./timings.js");
      const timings = loadTimings(f.timings);
      const runtime = {
        blueprint,
        timeScale: f.timeScale,
        timings,
        gatewayPort: f.gatewayPort,
        // The seed's web app gets the gateway that fails no request; `--gateway kube` reproduces AKS's default.
        gateway: f.gateway ?? (blueprint.name === "resilient-web" ? "akspilot" : "kube"),
        gatewayEngine: f.gatewayEngine,
        nodeStartupSeconds: f.nodeStartupSeconds ?? timings.nodeBootSeconds,
        nodeMonitorGraceSeconds: f.nodeMonitorGrace ?? timings.nodeMonitorGraceSeconds,
      };
      if (blueprint.name !== "edw") {
        const stray = EDW_ONLY.filter((k) => f[k] !== undefined && f[k] !== false);
        if (stray.length > 0) throw new UserError(`--${stray[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to the edw blueprint only`, `drop it for ${name}`);
        if (f.nodepool && !blueprint.clusters.some((c) => c.nodePools?.length)) throw new UserError(`--nodepool: blueprint ${name} has no Karpenter NodePool`, "drop --nodepool");
        const nodePool = f.nodepool ? (await scalingInputs(blueprint, f)).pool : undefined;
        if (blueprint.airflow) {
          const { upAirflow } = await import("../../local/airflow/cli.js");
          return upAirflow({ blueprint, runtime, flags: f, status, signal: interrupt.signal, dispose: () => interrupt.dispose(), dashboard: await dashboardOption(f) });
        }
        const [{ up }, { WebDriver }, { BlueGreenDriver }] = await Promise.all([
          import("../../local/up.js"),
          import("../../local/web/driver.js"),
          import("../../local/bluegreen/driver.js"),
        ]);
        // Blue-green: the Application Gateway in front of the clusters, and `akspilot upgrade` (docs/blue-green.md).
        const driver = blueprint.blueGreen
          ? new BlueGreenDriver({
              blueprint,
              cwd: process.cwd(),
              timeScale: f.timeScale,
              gatewayPort: f.gatewayPort,
              exitWhenReady: Boolean(f.exitWhenReady),
              readyTimeoutSeconds: f.drainTimeout,
            })
          : new WebDriver({ blueprint, exitWhenReady: Boolean(f.exitWhenReady), readyTimeoutSeconds: f.drainTimeout });
        try {
          const report = await up<WebReport>({
            driver,
            runtime: { ...runtime, ...(nodePool ? { nodePool } : {}), ...(driver instanceof BlueGreenDriver ? { blueprint: driver.runtimeBlueprint() } : {}) },
            cwd: process.cwd(),
            control: true,
            dashboard: await dashboardOption(f),
            status: status.write,
            signal: interrupt.signal,
            onStarted: (rt) => {
              if (!f.quiet && !f.json && rt.gatewayUrl) process.stderr.write(`gateway: ${rt.gatewayUrl} (${rt.gatewayMode})\n`);
            },
          });
          status.end();
          if (f.json) process.stdout.write(JSON.stringify(report) + "\n");
          else printWebReport(report);
        } finally {
          interrupt.dispose();
        }
        return;
      }
      if (f.exitWhenReady) throw new UserError("--exit-when-ready applies to web blueprints", "use --messages N --exit-when-drained for edw");
      if (f.exitWhenDrained && f.messages === undefined) throw new UserError("--exit-when-drained needs --messages N", "add --messages 1000, for example");
      if (f.exitWhenZero && !f.exitWhenDrained) throw new UserError("--exit-when-zero needs --exit-when-drained", "add --messages N --exit-when-drained");
      if (f.exitWhenZero && f.replicas !== undefined) throw new UserError("--exit-when-zero with fixed --replicas would never return to zero", "leave --replicas out to autoscale");
      if (f.exitWhenDrained && f.replicas === 0)
        throw new UserError("--replicas 0 with --exit-when-drained would never drain", "pass --replicas 1 or more, or leave it out to autoscale");
      if (f.failMatch !== undefined) {
        try {
          new RegExp(f.failMatch);
        } catch (e) {
          throw new UserError(`--fail-match is not a valid regular expression: ${clip((e as Error).message)}`, "pass a JavaScript regular expression");
        }
      }
      const { localIdentities } = await import("../../provisioning/local/rbac.js");
      if (f.identity !== undefined && !localIdentities(process.cwd()).some((i) => [i.name, i.clientId, i.principalId].includes(f.identity!))) {
        throw new UserError(
          `--identity "${clip(f.identity)}" is not an identity of a local deploy in this directory`,
          "run `akspilot deploy edw --target local` first, then pass one of the identities it created",
        );
      }
      if (f.producerIdentity !== undefined && f.identity === undefined)
        throw new UserError("--producer-identity needs --identity", "add --identity <name> (workload identity is on for every pod or for none)");
      if (f.producerIdentity !== undefined && !localIdentities(process.cwd()).some((i) => [i.name, i.clientId, i.principalId].includes(f.producerIdentity!))) {
        throw new UserError(
          `--producer-identity "${clip(f.producerIdentity)}" is not an identity of a local deploy in this directory`,
          "run `akspilot deploy edw --target local` first, then pass one of the identities it created",
        );
      }
      const scripted = f.messages !== undefined;
      const { rule, pool } = await scalingInputs(blueprint, f);
      const [{ up }, { EdwDriver }, { makePolicy }] = await Promise.all([import("../../local/up.js"), import("../../local/edw/driver.js"), import("../../scaling/policy.js")]);
      const fixed = f.replicas !== undefined;
      try {
        const driver = new EdwDriver({
          blueprint,
          messages: f.messages,
          rate: f.rate ?? (scripted ? 0 : 2),
          burst: f.burst ?? (scripted ? 0 : 150),
          burstEverySeconds: f.burstEvery ?? (scripted ? undefined : 60),
          producerConcurrency: f.producerConcurrency,
          consumer: {
            workMs: f.workMs ?? (scripted ? 0 : 500),
            concurrency: f.concurrency ?? (scripted ? 32 : 2),
            batchSize: f.batchSize,
            visibilityTimeoutSeconds: f.visibilityTimeout,
            maxDequeue: f.maxDequeue,
            failMatch: f.failMatch,
            idleMaxMs: 30_000,
          },
          // Fixed: exactly --replicas. Autoscaled: the seed's Deployment starts at 1 and KEDA takes over.
          replicas: f.replicas,
          policy: fixed ? undefined : makePolicy(f.policy, rule, {}, await hpaPhase(f)),
          scaledObjectName: rule.name,
          scaledObject: fixed ? undefined : rule,
          identity: f.identity,
          producerIdentity: f.producerIdentity,
          dataDir: f.data,
          cwd: process.cwd(),
          timeScale: f.timeScale,
          exitWhenDrained: Boolean(f.exitWhenDrained),
          exitWhenZero: Boolean(f.exitWhenZero),
          drainTimeoutSeconds: f.drainTimeout,
          // Three polling intervals at zero replicas with messages waiting: KEDA will not activate.
          stuckSeconds: fixed ? undefined : (3 * rule.pollingIntervalSeconds) / f.timeScale,
          signal: interrupt.signal,
        });
        const report = await up<EdwReport>({
          driver: driver as BlueprintDriver<EdwReport>,
          runtime: { ...runtime, nodePool: pool },
          cwd: process.cwd(),
          control: true,
          dashboard: await dashboardOption(f),
          status: status.write,
          signal: interrupt.signal,
        });
        status.end();
        if (f.json) process.stdout.write(JSON.stringify(report) + "\n");
        else printReport(report);
        if (report.lost > 0) process.exitCode = 1;
      } finally {
        interrupt.dispose();
      }
    });

  program
    .command("produce")
    .description("send seed-format messages to the queue (AZURE_STORAGE_* or the running `akspilot up`)")
    .option("--count <n>", "messages to send (default: until Ctrl-C, as the seed)")
    .option("--rate <msgs/s>", "steady rate (the seed: 1)")
    .option("--burst <n>", "extra messages at once, at the start and every --burst-every seconds")
    .option("--burst-every <s>", "seconds between bursts")
    .option("--concurrency <n>", "sends in flight at once (default 32)")
    .option("--start-index <n>", "first COUNT index (default 1)")
    .option("--json", "print the report as JSON")
    .action(async (f: Record<string, string | boolean | undefined>) => {
      const [{ producerSettings }, { runProducerProcess }, { resolveStandaloneStorage }] = await Promise.all([
        import("../../apps/producer/settings.js"),
        import("../../apps/producer/run.js"),
        import("../resolve-storage.js"),
      ]);
      const settings = producerSettings({
        count: f.count as string | undefined,
        rate: f.rate as string | undefined,
        burst: f.burst as string | undefined,
        "burst-every": f.burstEvery as string | undefined,
        concurrency: f.concurrency as string | undefined,
        "start-index": f.startIndex as string | undefined,
      });
      const report = await runProducerProcess(resolveStandaloneStorage(), settings, f.json ? undefined : (n) => process.stderr.write(`sent ${n}\n`));
      if (f.json) process.stdout.write(JSON.stringify(report) + "\n");
      else process.stdout.write(`sent ${report.sent} messages in ${report.elapsedSeconds.toFixed(1)} s (steady rate ${report.achievedRate.toFixed(2)}/s)\n`);
    });

  const consume = program.command("consume").description("consume the queue into the table until Ctrl-C (AZURE_STORAGE_* or the running `akspilot up`)");
  for (const [flag, value, help] of [
    ["batch-size", "n", "messages per receive (1–32, default 32)"],
    ["concurrency", "n", "messages processed at once (default 32)"],
    ["work-ms", "ms", "simulated work per message (default 0)"],
    ["visibility-timeout", "s", "receive visibility timeout (default max(60, 2×work+30))"],
    ["max-dequeue", "n", "deliveries before poisoning (default 5)"],
    ["idle-min-ms", "ms", "first idle backoff (default 250)"],
    ["idle-max-ms", "ms", "longest idle backoff (default 30000)"],
    ["fail-match", "regex", "fault injection: messages matching fail in processing"],
    ["health-host", "address", "health endpoint address (default 127.0.0.1)"],
    ["health-port", "port", "health endpoint port (default: any free)"],
    ["grace-ms", "ms", "time to finish or release work after SIGTERM (default 25000)"],
  ] as const)
    consume.addOption(new Option(`--${flag} <${value}>`, help));
  consume.action(async (f: Record<string, string | undefined>) => {
    const [{ consumerSettings }, { runConsumerProcess }, { resolveStandaloneStorage }] = await Promise.all([
      import("../../apps/consumer/settings.js"),
      import("../../apps/consumer/run.js"),
      import("../resolve-storage.js"),
    ]);
    const flags = Object.fromEntries(Object.entries(f).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), v]));
    await runConsumerProcess(resolveStandaloneStorage(), consumerSettings(flags));
  });

  const poison = program.command("poison").description("inspect and replay the poison queue");
  poison
    .command("list")
    .description("show poisoned messages with their reasons")
    .option("--json", "one JSON object per message")
    .action(async (f: { json?: boolean }) => {
      const [{ listPoison }, { resolveStandaloneStorage }] = await Promise.all([import("../../local/edw/poison-admin.js"), import("../resolve-storage.js")]);
      const records = await listPoison(resolveStandaloneStorage());
      if (f.json) for (const r of records) process.stdout.write(JSON.stringify(r) + "\n");
      else if (records.length === 0) process.stdout.write("poison queue is empty\n");
      else for (const r of records) process.stdout.write(`${r.poisonedAt}  ${r.reason.padEnd(18)}  ${r.messageId}  ${r.detail}\n    ${r.body.slice(0, 200)}\n`);
    });
  poison
    .command("replay")
    .description("move poisoned messages back to the main queue (original bodies)")
    .option("--reason <code>", "only messages poisoned for this reason (Unparseable, MaxDequeueExceeded)")
    .action(async (f: { reason?: string }) => {
      const [{ replayPoison }, { resolveStandaloneStorage }] = await Promise.all([import("../../local/edw/poison-admin.js"), import("../resolve-storage.js")]);
      const n = await replayPoison(resolveStandaloneStorage(), f.reason);
      process.stdout.write(`replayed ${n} message(s)\n`);
    });
}

function printWebReport(r: WebReport): void {
  process.stdout.write(
    `${r.ready ? `every replica Ready in ${r.readySeconds} s` : "not every replica became Ready"}; ${r.pods} pods on ${r.nodes} nodes; pod-seconds ${r.podSeconds}, node-seconds ${r.nodeSeconds}\n`,
  );
}

function printReport(r: EdwReport): void {
  const lines = [
    `storage: ${r.storage}`,
    `sent ${r.sent}, stored ${r.processed}, poisoned ${r.poisoned}, still queued ${r.inQueue}, invisible ${r.invisible}, lost ${r.lost}, duplicates ${r.duplicates}`,
    `drain ${r.drainSeconds} s${r.drained ? "" : " (not drained)"}${r.backToZeroSeconds === undefined ? "" : r.backToZeroSeconds === null ? ", not back to zero" : `, back to zero at ${r.backToZeroSeconds} s`}, ready in ${r.readySeconds} s, max replicas ${r.maxReplicas}, max nodes ${r.maxNodes}`,
    `latency p50 ${r.p50LatencyMs} ms, p95 ${r.p95LatencyMs} ms; storage calls per message ${r.storageCallsPerMessage}; pod-seconds ${r.podSeconds}, node-seconds ${r.nodeSeconds}`,
  ];
  process.stdout.write(lines.join("\n") + "\n");
}

/**
 * `--scale-to-zero S`: the LoadBalancer app gets the HTTP scale rule {min 0, max its replicas, 100 pending
 * requests per replica, scale-down period S}. The rule reads the HTTP gateway, so it needs `--gateway akspilot`.
 */
function applyScaleToZero(blueprint: ReturnType<typeof getBlueprint>, seconds: number, gateway: string | undefined): void {
  const app = blueprint.apps.find((a) => a.service?.type === "LoadBalancer");
  if (!app) throw new UserError(`--scale-to-zero: blueprint ${blueprint.name} has no LoadBalancer Service to scale on`, `drop it for ${blueprint.name}`);
  if (gateway === "kube")
    throw new UserError("--scale-to-zero needs the HTTP gateway (it counts the requests and holds the first one while a replica starts)", "use --gateway akspilot");
  app.httpScaling = { minReplicas: 0, maxReplicas: Math.max(1, app.replicas), targetPendingRequests: 100, scaledownPeriodSeconds: seconds };
}
