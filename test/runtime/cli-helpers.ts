// What the runtime's end-to-end tests read as a user would: the runtime file and the control API's status.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { waitFor } from "../edw/helpers.js";
import type { RuntimeFile } from "../../src/local/runtime-file.js";
import type { StatusV1 } from "../../src/local/status.js";

/** `.akspilot/runtime.json` of the `up` running in `cwd`, or undefined before it is written / after it is removed. */
export function runtimeFile(cwd: string): RuntimeFile | undefined {
  try {
    return JSON.parse(readFileSync(join(cwd, ".akspilot", "runtime.json"), "utf8")) as RuntimeFile;
  } catch {
    return undefined;
  }
}

export async function status(rt: RuntimeFile): Promise<StatusV1> {
  const res = await fetch(`${rt.controlUrl}/v1/status`, { headers: { authorization: `Bearer ${rt.token}` } });
  assert.equal(res.status, 200);
  return (await res.json()) as StatusV1;
}

/** The status once the first Deployment has `ready` ready pods. */
export function waitReadyPods(rt: RuntimeFile, ready: number, boundMs = 30_000): Promise<StatusV1> {
  return waitFor(
    `${ready} ready pods`,
    async () => {
      const s = await status(rt);
      return s.deployments[0]?.ready === ready ? s : undefined;
    },
    boundMs,
    100,
  );
}

/** The seed's hello page as the web app answers it; the first group is the pod's name. */
export const SEED_BODY = /^Hello world! Now is \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{1,3}\.\nRunning on (helloworld-[a-z0-9]{5})\.$/;

/** One GET on a new connection (as curl makes it), given up after 30 s. */
export function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}
