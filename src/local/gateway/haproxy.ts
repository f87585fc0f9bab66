import type { ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { UserError } from "../../errors.js";
import { spawnProgramChild, stopChild } from "../../process/child.js";
import type { Gateway, GatewayStats } from "./gateway.js";
import { addServerCommand, HAPROXY_BACKEND, haproxyConfig, SLOT_PREFIX } from "./haproxy-config.js";
import type { GatewaySettings } from "./settings.js";
import type { EndpointSource, GatewayEventFn } from "./upstreams.js";

export interface HaproxyGatewayOptions {
  settings: GatewaySettings;
  /** Where the run keeps its files: the generated haproxy.cfg and the runtime API socket go here. */
  stateDir: string;
  host?: string;
  port?: number;
  onEvent?: GatewayEventFn;
  /** The Node gateway that holds requests while no pod is ready: haproxy's backup server. */
  hold?: Gateway;
  /** The haproxy program (default: found on PATH, then /usr/sbin). */
  binary?: string;
  /** Pre-declared server slots for pod endpoints (default 32); more endpoints than that are added as dynamic servers. */
  slots?: number;
}

/** Longest unix socket path Linux takes (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;

/** The haproxy program, or one clear error naming how to install it. */
export function findHaproxy(binary?: string): string {
  const dirs = binary ? [] : [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin"];
  const candidates = binary ? [binary] : dirs.filter((d) => d !== "").map((d) => join(d, "haproxy"));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      /* not this one */
    }
  }
  throw new UserError(
    binary ? `the haproxy program ${binary} is missing or not executable` : "--gateway-engine haproxy needs the haproxy program, which is not installed",
    "install it with `apt-get install haproxy` (Debian/Ubuntu), or drop --gateway-engine for the built-in gateway",
  );
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** One runtime API command on its own connection (haproxy answers, then closes it). */
function runtimeCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(socket);
    let out = "";
    c.setEncoding("utf8");
    c.on("data", (d: string) => {
      out += d;
    });
    c.once("end", () => resolve(out));
    c.once("error", reject);
    c.end(`${command}\n`);
  });
}

/** `show stat` as rows keyed by column name. */
function parseStat(csv: string): Record<string, string>[] {
  const lines = csv.split("\n").filter((l) => l.trim() !== "");
  const head = lines.shift()?.replace(/^# /, "").split(",") ?? [];
  return lines.map((l) => {
    const cells = l.split(",");
    return Object.fromEntries(head.map((h, i) => [h, cells[i] ?? ""]));
  });
}

/** A pod endpoint's haproxy server name: pod names are already [a-z0-9.-]; the port tells a restarted pod apart. */
function serverName(pod: string, port: number): string {
  return `${pod.replace(/[^A-Za-z0-9._-]/g, "_")}_${port}`;
}

interface Server {
  pod: string;
  node: string;
  port: number;
  /** Its server name in haproxy: a declared slot, or a dynamic server's own name. */
  srv: string;
  draining: boolean;
  drainTimer?: NodeJS.Timeout;
}

/**
 * The app's gateway with haproxy as its data plane (`--gateway-engine haproxy`): akspilot generates its
 * configuration from the gateway settings and keeps its servers in step with the Service's endpoints
 * through the runtime API (a ready endpoint is added with its health check on; one that leaves is drained,
 * then put in maintenance and deleted once its in-flight requests are done or the drain timeout passed).
 * haproxy runs as a child of this process, bound to loopback, and its warnings become the cluster's events.
 */
export async function startHaproxyGateway(source: EndpointSource, o: HaproxyGatewayOptions): Promise<Gateway & { readonly pid?: number }> {
  const binary = findHaproxy(o.binary);
  const s = o.settings;
  const host = o.host ?? "127.0.0.1";
  const port = o.port ?? (await freePort(host));
  const emit: GatewayEventFn = o.onEvent ?? (() => undefined);
  let socketDir: string | undefined;
  let socket = join(o.stateDir, `haproxy-${port}.sock`);
  if (socket.length > MAX_SOCKET_PATH) {
    socketDir = mkdtempSync(join(tmpdir(), "akspilot-haproxy-"));
    socket = join(socketDir, "api.sock");
  }
  const cfgFile = join(o.stateDir, `haproxy-${port}.cfg`);
  const slots = o.slots ?? 32;
  writeFileSync(cfgFile, haproxyConfig(s, { host, port, socket, holdPort: o.hold?.port, slots }), { mode: 0o600 });
  const freeSlots = Array.from({ length: slots }, (_, i) => `${SLOT_PREFIX}${i + 1}`);
  /** haproxy server name → the pod it carries now (haproxy's messages name servers, events name pods). */
  const podOf = new Map<string, string>();

  const child: ChildProcess = spawnProgramChild(binary, ["-db", "-f", cfgFile]);
  const stderrTail: string[] = [];
  let closing = false;
  let buf = "";
  const onLine = (line: string) => {
    stderrTail.push(line);
    if (stderrTail.length > 20) stderrTail.shift();
    // haproxy's own verdicts on an endpoint (health check, passive observation) are the gateway's events.
    const m = /Server [^/\s]+\/(\S+) is (DOWN|UP)\b[^,]*, reason: ([^,]+)/.exec(line);
    const pod = m ? podOf.get(m[1]!) : undefined;
    if (m && pod) emit(m[2] === "DOWN" ? "Warning" : "Normal", m[2] === "DOWN" ? "EndpointUnhealthy" : "EndpointHealthy", `${pod}: ${m[3]}`);
  };
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding("utf8");
    stream?.on("data", (d: string) => {
      buf += d;
      let i = buf.indexOf("\n");
      while (i >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
        i = buf.indexOf("\n");
      }
    });
  }
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
  void exited.then((how) => {
    if (!closing) emit("Warning", "GatewayExited", `haproxy exited (${how}) while the gateway was running: ${stderrTail.join(" | ")}`);
  });

  const cleanFiles = () => {
    rmSync(cfgFile, { force: true });
    rmSync(socket, { force: true });
    if (socketDir) rmSync(socketDir, { recursive: true, force: true });
  };

  // Ready once the runtime API answers; a bad config or a taken port ends the process first.
  const started = Date.now();
  for (;;) {
    const early = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(r, 20))]);
    if (early !== undefined) {
      cleanFiles();
      const why = stderrTail.filter((l) => /ALERT|error/i.test(l)).join("; ") || stderrTail.join("; ");
      throw new UserError(`the haproxy gateway did not start (${String(early)}): ${why}`, "see the message from haproxy; --gateway-port picks another port");
    }
    try {
      await runtimeCommand(socket, "show info");
      break;
    } catch {
      if (Date.now() - started > 10_000) {
        closing = true;
        await stopChild(child);
        cleanFiles();
        throw new UserError("the haproxy gateway did not open its runtime API within 10 s", `see ${cfgFile}`);
      }
    }
  }

  // Runtime API commands one at a time, in order: a drain must not overtake the add it follows.
  let queue: Promise<unknown> = Promise.resolve();
  const run = (command: string): Promise<string> => {
    const next = queue.then(() => runtimeCommand(socket, command));
    queue = next.catch(() => undefined);
    return next.then((out) => {
      if (/No such|not found|Require|failed|error|Unknown/i.test(out) && !closing) emit("Warning", "GatewayCommandFailed", `${command}: ${out.trim()}`);
      return out;
    });
  };

  const servers = new Map<string, Server>();
  let stat: Record<string, string>[] = [];
  const refreshStat = async () => {
    try {
      stat = parseStat(await runtimeCommand(socket, "show stat"));
    } catch {
      /* haproxy is stopping; the last figures stay */
    }
  };

  async function remove(name: string): Promise<void> {
    const srv = servers.get(name);
    if (!srv) return;
    clearTimeout(srv.drainTimer);
    servers.delete(name);
    await run(`set server ${HAPROXY_BACKEND}/${srv.srv} state maint`);
    await run(`shutdown sessions server ${HAPROXY_BACKEND}/${srv.srv}`);
    podOf.delete(srv.srv);
    // A slot goes back to the free ones (in maintenance, its idle connections closed); a dynamic server goes.
    if (srv.srv.startsWith(SLOT_PREFIX)) freeSlots.push(srv.srv);
    else await run(`del server ${HAPROXY_BACKEND}/${srv.srv}`);
  }

  /** Draining: no new requests; once none is in flight (or the drain timeout passed), the server goes. */
  function drain(name: string, srv: Server): void {
    srv.draining = true;
    void run(`set server ${HAPROXY_BACKEND}/${srv.srv} state drain`);
    emit("Normal", "EndpointDraining", `${srv.pod}: left the Service's ready endpoints; no new requests, in-flight ones finish (up to ${s.drainTimeoutMs} ms)`);
    const deadline = Date.now() + s.drainTimeoutMs;
    const check = async () => {
      if (!srv.draining || closing) return;
      await refreshStat();
      const row = stat.find((r) => r.pxname === HAPROXY_BACKEND && r.svname === srv.srv);
      if (!row || Number(row.scur) === 0 || Date.now() >= deadline) {
        if (srv.draining && servers.get(name) === srv) await remove(name);
        return;
      }
      srv.drainTimer = setTimeout(() => void check(), 100);
    };
    srv.drainTimer = setTimeout(() => void check(), 50);
  }

  function sync(): void {
    if (closing) return;
    const want = new Map<string, { pod: string; node: string; port: number }>();
    for (const e of source.list()) if (e.ready && !e.terminating) want.set(serverName(e.pod, e.port), { pod: e.pod, node: e.node, port: e.port });
    for (const [name, e] of want) {
      const had = servers.get(name);
      if (had?.draining) {
        had.draining = false;
        clearTimeout(had.drainTimer);
        void run(`set server ${HAPROXY_BACKEND}/${had.srv} state ready`);
      } else if (!had) {
        const slot = freeSlots.shift();
        const srv = slot ?? name;
        servers.set(name, { pod: e.pod, node: e.node, port: e.port, srv, draining: false });
        podOf.set(srv, e.pod);
        if (slot) {
          void run(`set server ${HAPROXY_BACKEND}/${slot} addr 127.0.0.1 port ${e.port}`);
        } else {
          // A dynamic server is added in maintenance with its check off: switch the check on first.
          void run(addServerCommand(name, e.port, s));
          void run(`enable health ${HAPROXY_BACKEND}/${name}`);
        }
        // It takes requests at once: the Service already says Ready (the kubelet's readiness probe passed).
        void run(`set server ${HAPROXY_BACKEND}/${srv} state ready`);
      }
    }
    for (const [name, srv] of servers) if (!want.has(name) && !srv.draining) drain(name, srv);
  }

  const off = source.onUpdate(() => sync());
  sync();
  await queue;
  // The status reads figures synchronously: keep the last `show stat` fresh.
  const poll = setInterval(() => void refreshStat(), 1000);
  poll.unref();
  await refreshStat();

  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return {
    port,
    url,
    // The data plane's process (its CPU time is what a benchmark reads).
    pid: child.pid,
    stats(): GatewayStats {
      const fe = stat.find((r) => r.svname === "FRONTEND") ?? {};
      const be = stat.find((r) => r.pxname === HAPROXY_BACKEND && r.svname === "BACKEND") ?? {};
      const held = o.hold?.stats();
      const n = (x: string | undefined) => Number(x ?? 0) || 0;
      return {
        requests: n(fe.req_tot),
        retries: n(be.wretr) + n(be.wredis),
        held: held?.held ?? 0,
        waiting: held?.waiting ?? 0,
        retriesRefused: 0,
        ownAnswers: { ...(n(fe.dreq) > 0 ? { "413": n(fe.dreq) } : {}) },
        endpoints: [...servers.values()].map((srv) => {
          const row = stat.find((r) => r.pxname === HAPROXY_BACKEND && r.svname === srv.srv) ?? {};
          const up = (row.status ?? "UP").startsWith("UP") || row.status === "DRAIN";
          return { pod: srv.pod, node: srv.node, port: srv.port, healthy: up, ejected: !up, inFlight: n(row.scur), ejections: n(row.chkdown) };
        }),
      };
    },
    async close(): Promise<void> {
      if (closing) return;
      closing = true;
      off();
      clearInterval(poll);
      for (const srv of servers.values()) clearTimeout(srv.drainTimer);
      await stopChild(child, "SIGTERM", 2000);
      cleanFiles();
    },
  };
}
