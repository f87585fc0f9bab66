import { spawn, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { join } from "node:path";
import type { EndpointSource } from "../../src/local/gateway/upstreams.js";
import { freePort } from "../../src/local/runtime.js";
import { ROOT, waitFor } from "../edw/helpers.js";

export interface AfterHost {
  after: (fn: () => void | Promise<void>) => void;
}

/** Endpoints as the endpoints controller would publish them (the gateway's only input from the cluster). */
export class Endpoints implements EndpointSource {
  private eps: { pod: string; node: string; port: number; ready: boolean; terminating: boolean }[] = [];
  private readonly fns = new Set<() => void>();
  list() {
    return this.eps;
  }
  onUpdate(fn: () => void) {
    this.fns.add(fn);
    return () => this.fns.delete(fn);
  }
  /** Publishes these pods as ready; the ones named in `terminating` as leaving. */
  set(ports: [string, number][], terminating: string[] = []) {
    this.eps = ports.map(([pod, port]) => ({ pod, node: "n", port, ready: true, terminating: terminating.includes(pod) }));
    for (const f of this.fns) f();
  }
}

/** The status of one GET, or undefined when nothing answers within `timeoutMs`. */
function statusOf(url: string, timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", () => resolve(undefined));
    req.end();
  });
}

/**
 * A hello pod process (the seed's web app) answering on its own loopback port as `name`, once its health check
 * answers. Killed after the test, thawed first so that a test which froze it (SIGSTOP) leaves nothing behind.
 */
export async function startHelloPod(t: AfterHost, name: string): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, "dist", "src", "apps", "hello", "main.js")], {
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", HOSTNAME: name },
    stdio: "ignore",
  });
  t.after(() => {
    child.kill("SIGCONT");
    child.kill("SIGKILL");
  });
  await waitFor("hello pod listening", async () => ((await statusOf(`http://127.0.0.1:${port}/healthz`, 500)) === 200 ? true : undefined), 10_000);
  return { port, child };
}
