// Workload identity on the local target: the token exchange's latency, and a consumer's throughput through
// the enforcing front (proxy → front → Azurite, bearer tokens, role checks) against Azurite directly,
// measured side by side in one run, with the CPU each process spends per storage call (where the time goes).
// Exported for the benchmark runner; `node dist/bench/identity.js` runs it.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { QueueClient } from "@azure/storage-queue";
import { TableClient } from "@azure/data-tables";
import { startAzurite } from "../src/process/azurite.js";
import { ClusterIssuer, findCluster } from "../src/identity/issuer.js";
import { readRecords, LOCAL_TENANT_ID } from "../src/identity/records.js";
import { IdentityServices } from "../src/identity/services.js";
import { run } from "./cli.js";
import { drainWithPod, fill as fillSeed } from "./pod.js";

const CLIENT = fileURLToPath(new URL("./identity-client.js", import.meta.url));

export interface IdentityBenchFigures {
  tokenExchangeP50Ms: number;
  tokenExchangeP95Ms: number;
  directPerSecond: number;
  frontPerSecond: number;
  /** front ÷ direct (goal ≥ 0.9). */
  frontRatio: number;
  directCallsPerMessage: number;
  frontCallsPerMessage: number;
  /** Token exchanges the front run needed (goal: 1, cached by the SDK). */
  frontTokenExchanges: number;
  /** CPU µs per storage call in each process over the drains (Azurite's from /proc; undefined elsewhere). */
  directCpuUsPerCall: { consumer: number; azurite?: number };
  frontCpuUsPerCall: { consumer: number; front: number; azurite?: number };
  /** Proxy tunnels (CONNECTs) per storage call: 1 when the client keeps no connection alive. */
  frontConnectsPerCall: number;
  /** 1 when Azurite kept its data on disk (the default), 0 in memory. */
  durableStorage: number;
  /**
   * The EDW consumer itself (the pod bundle: receive, table batch, delete) draining the same burst with its
   * connection string and with its workload identity through the front: the goal figure. The
   * receive+delete loop above is the harsher one (no table write, so the front's share of each call is larger).
   */
  consumer: {
    directPerSecond: number;
    frontPerSecond: number;
    /** front ÷ direct (goal ≥ 0.9). */
    frontRatio: number;
    directCallsPerMessage: number;
    frontCallsPerMessage: number;
    directCpuUsPerCall: { consumer: number; azurite?: number };
    frontCpuUsPerCall: { consumer: number; azurite?: number };
  };
}

interface Drain {
  perSecond: number;
  callsPerMessage: number;
  calls: number;
  cpuUs: number;
}

/** CPU µs a process has used (user + system), from /proc; undefined where there is none. */
function processCpuUs(pid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    // utime and stime, in clock ticks of 10 ms (USER_HZ is 100 on Linux).
    return (Number(f[11]) + Number(f[12])) * 10_000;
  } catch {
    return undefined;
  }
}

function selfCpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function fill(q: QueueClient, n: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < n) {
        next++;
        await q.sendMessage(`m${next}`);
      }
    }),
  );
}

function child(env: NodeJS.ProcessEnv, queue: string, n: number): Promise<Drain> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [CLIENT, queue, String(n)], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    c.stdout.on("data", (d: Buffer) => (out += d));
    c.stderr.on("data", (d: Buffer) => (err += d));
    c.on("close", (code) => (code === 0 ? resolve(JSON.parse(out.trim().split("\n").pop()!) as Drain) : reject(new Error(`client failed: ${err}`))));
  });
}

export async function benchIdentity(o: { messages?: number; rounds?: number; exchanges?: number } = {}): Promise<IdentityBenchFigures> {
  const messages = o.messages ?? 1000;
  const rounds = o.rounds ?? 2;
  const root = mkdtempSync(join(tmpdir(), "akspilot-bench-identity-"));
  // Azurite on disk unless AKSPILOT_BENCH_STORAGE=memory: in memory, its sweep of deleted messages stalls it for
  // seconds every minute and the stall lands in whichever side is draining (BENCHMARKS.md, "Consumer crawl").
  const durable = process.env.AKSPILOT_BENCH_STORAGE !== "memory";
  const azurite = await startAzurite({ dataDir: durable ? join(root, "azurite") : undefined });
  let services: IdentityServices | undefined;
  try {
    const d = await run(["deploy", "edw", "--target", "local"], root);
    if (d.code !== 0) throw new Error(`deploy failed: ${d.stderr}`);
    const records = readRecords(root);
    const workload = records.identities.find((i) => i.name.startsWith("mi-aks-workload-identity-"))!;
    const account = records.accounts[0]!;
    services = await IdentityServices.start({ root, storageConnectionString: azurite.connectionString, proxy: true });
    const cluster = findCluster(root);

    // Token exchange over HTTPS, one keep-alive connection, as a client's retries would reuse it.
    const { token } = await (await ClusterIssuer.open(root, cluster)).serviceAccountToken("aqs-demo", "aqs-app-service-account");
    const body = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: workload.clientId,
      scope: "https://storage.azure.com/.default",
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: token,
    }).toString();
    const agent = new Agent({ keepAlive: true, ca: readFileSync(services.caCertPath) });
    const url = new URL(`${services.authorityHost}${LOCAL_TENANT_ID}/oauth2/v2.0/token`);
    const times: number[] = [];
    for (let i = 0; i < (o.exchanges ?? 300); i++) {
      const t0 = performance.now();
      await new Promise<void>((resolve, reject) => {
        const req = request(url, { method: "POST", agent, headers: { "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`token endpoint answered ${res.statusCode}`))));
        });
        req.on("error", reject);
        req.end(body);
      });
      if (i >= 20) times.push(performance.now() - t0);
    }
    agent.destroy();

    const queue = "benchidentity";
    const direct = new QueueClient(azurite.connectionString, queue);
    await direct.createIfNotExists();
    const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
    const frontEnv = { ...base, ...(await services.workloadEnv(cluster, "aqs-demo", "aqs-app-service-account", workload.clientId)), AZURE_STORAGE_ACCOUNT_NAME: account };
    // The bench queue needs the role the seed grants on its own queue: account-wide here.
    const { Ledger } = await import("../src/provisioning/local/ledger.js");
    const ledger = Ledger.open(root);
    const acctScope = records.roles.find((r) => /storageAccounts\//i.test(r.scope))!.scope.replace(/(\/storageAccounts\/[^/]+).*$/i, "$1");
    ledger.put(`${acctScope}/providers/Microsoft.Authorization/roleAssignments/bench`, {
      kind: "roleAssignment",
      name: "bench",
      props: { scope: acctScope, role: "Storage Queue Data Contributor", principalId: workload.principalId, principalType: "ServicePrincipal" },
      outputs: {},
    });
    ledger.put(`${acctScope}/providers/Microsoft.Authorization/roleAssignments/bench-table`, {
      kind: "roleAssignment",
      name: "bench-table",
      props: { scope: acctScope, role: "Storage Table Data Contributor", principalId: workload.principalId, principalType: "ServicePrincipal" },
      outputs: {},
    });
    const d1: number[] = [];
    const f1: number[] = [];
    let dc = 0;
    let fc = 0;
    const before = services.tokens.issued;
    // CPU of each process over the drains, summed per side, and the calls it served.
    const cpu = { direct: { calls: 0, consumer: 0, azurite: 0 }, front: { calls: 0, consumer: 0, front: 0, azurite: 0, connects: 0 } };
    let azuriteSeen = true;
    const measured = async (env: NodeJS.ProcessEnv) => {
      const s0 = selfCpuUs();
      const a0 = processCpuUs(azurite.pid);
      const c0 = services!.proxy?.counts.intercepted ?? 0;
      const d = await child(env, queue, messages);
      const a1 = processCpuUs(azurite.pid);
      if (a0 === undefined || a1 === undefined) azuriteSeen = false;
      return { d, self: selfCpuUs() - s0, azurite: (a1 ?? 0) - (a0 ?? 0), connects: (services!.proxy?.counts.intercepted ?? 0) - c0 };
    };
    const runDirect = async () => {
      await fill(direct, messages);
      const a = await measured({ ...base, AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString });
      d1.push(a.d.perSecond);
      dc = a.d.callsPerMessage;
      cpu.direct.calls += a.d.calls;
      cpu.direct.consumer += a.d.cpuUs;
      cpu.direct.azurite += a.azurite;
    };
    const runFront = async () => {
      await fill(direct, messages);
      const b = await measured(frontEnv);
      f1.push(b.d.perSecond);
      fc = b.d.callsPerMessage;
      cpu.front.calls += b.d.calls;
      cpu.front.consumer += b.d.cpuUs;
      cpu.front.front += b.self;
      cpu.front.azurite += b.azurite;
      cpu.front.connects += b.connects;
    };
    // Which side goes first alternates by round: Azurite slows as its table and logs grow, so a fixed order
    // would favour the side that always runs first.
    for (let r = 0; r < rounds; r++) {
      if (r % 2 === 0) {
        await runDirect();
        await runFront();
      } else {
        await runFront();
        await runDirect();
      }
    }
    const per = (us: number, calls: number) => Math.round(us / Math.max(1, calls));
    const loopExchanges = services.tokens.issued - before;

    // The consumer pod, as the runtime starts it (bundle, V8 flags), on the same burst; queue and table made
    // here because the pod skips its own ensure step.
    const cq = "benchidentityedw";
    const cqClient = new QueueClient(azurite.connectionString, cq);
    await cqClient.createIfNotExists();
    await new QueueClient(azurite.connectionString, `${cq}-poison`).createIfNotExists();
    await TableClient.fromConnectionString(azurite.connectionString, cq, { allowInsecureConnection: true }).createTable();
    const names = { AZURE_QUEUE_NAME: cq, AZURE_TABLE_NAME: cq };
    const podDirectEnv = { ...base, ...names };
    // Connection string empty: the consumer then reaches storage by account name and workload identity.
    const podFrontEnv = { ...(frontEnv as Record<string, string>), ...names, AZURE_STORAGE_CONNECTION_STRING: "" };
    // (The front's own CPU is not split out here: this process also polls the pod's stats while it drains.)
    const cons = { direct: { rates: [] as number[], calls: 0, handled: 0, cpuUs: 0, azurite: 0 }, front: { rates: [] as number[], calls: 0, handled: 0, cpuUs: 0, azurite: 0 } };
    let seedFrom = 1;
    const podDrain = async (side: "direct" | "front") => {
      await fillSeed(cqClient, messages, seedFrom);
      seedFrom += messages;
      const a0 = processCpuUs(azurite.pid);
      const r = await drainWithPod({ connectionString: azurite.connectionString, env: side === "front" ? podFrontEnv : podDirectEnv }, messages);
      const a1 = processCpuUs(azurite.pid);
      const c = cons[side];
      c.rates.push(r.handled / r.seconds);
      c.calls += r.calls;
      c.handled += r.handled;
      c.cpuUs += r.drainCpuMs * 1000;
      c.azurite += (a1 ?? 0) - (a0 ?? 0);
    };
    for (let r = 0; r < rounds; r++) {
      const order: Array<"direct" | "front"> = r % 2 === 0 ? ["direct", "front"] : ["front", "direct"];
      for (const side of order) await podDrain(side);
    }
    const consumerDirect = pct(cons.direct.rates, 50);
    const consumerFront = pct(cons.front.rates, 50);

    const directPerSecond = pct(d1, 50);
    const frontPerSecond = pct(f1, 50);
    return {
      tokenExchangeP50Ms: Math.round(pct(times, 50) * 100) / 100,
      tokenExchangeP95Ms: Math.round(pct(times, 95) * 100) / 100,
      directPerSecond: Math.round(directPerSecond),
      frontPerSecond: Math.round(frontPerSecond),
      frontRatio: Math.round((frontPerSecond / directPerSecond) * 100) / 100,
      directCallsPerMessage: Math.round(dc * 100) / 100,
      frontCallsPerMessage: Math.round(fc * 100) / 100,
      frontTokenExchanges: loopExchanges / rounds,
      directCpuUsPerCall: { consumer: per(cpu.direct.consumer, cpu.direct.calls), azurite: azuriteSeen ? per(cpu.direct.azurite, cpu.direct.calls) : undefined },
      frontCpuUsPerCall: {
        consumer: per(cpu.front.consumer, cpu.front.calls),
        front: per(cpu.front.front, cpu.front.calls),
        azurite: azuriteSeen ? per(cpu.front.azurite, cpu.front.calls) : undefined,
      },
      frontConnectsPerCall: Math.round((cpu.front.connects / Math.max(1, cpu.front.calls)) * 100) / 100,
      durableStorage: durable ? 1 : 0,
      consumer: {
        directPerSecond: Math.round(consumerDirect),
        frontPerSecond: Math.round(consumerFront),
        frontRatio: Math.round((consumerFront / consumerDirect) * 100) / 100,
        directCallsPerMessage: Math.round((cons.direct.calls / Math.max(1, cons.direct.handled)) * 100) / 100,
        frontCallsPerMessage: Math.round((cons.front.calls / Math.max(1, cons.front.handled)) * 100) / 100,
        directCpuUsPerCall: { consumer: per(cons.direct.cpuUs, cons.direct.calls), azurite: azuriteSeen ? per(cons.direct.azurite, cons.direct.calls) : undefined },
        frontCpuUsPerCall: { consumer: per(cons.front.cpuUs, cons.front.calls), azurite: azuriteSeen ? per(cons.front.azurite, cons.front.calls) : undefined },
      },
    };
  } finally {
    await services?.stop();
    await azurite.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(JSON.stringify(await benchIdentity(), null, 2));
}
