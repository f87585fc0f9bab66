// What the blue-green end-to-end tests share: `up bluegreen`, the CLI, and an independent watching client.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT, type runCli, startCli, waitFor, type CliRun } from "../edw/helpers.js";
import { runtimeFile, status } from "../runtime/cli-helpers.js";
import type { RuntimeFile } from "../../src/local/runtime-file.js";
import type { StatusV1 } from "../../src/local/status.js";
import type { WatchSample } from "../../src/local/bluegreen/watch.js";

type T = Parameters<typeof runCli>[0];

export async function upBlueGreen(t: T, cwd: string): Promise<{ rt: RuntimeFile; up: ReturnType<typeof startCli> }> {
  const up = startCli(t, ["up", "bluegreen", "--time-scale", "20", "--quiet", "--no-dashboard"], { cwd });
  // A runtime file left by an `up` that was killed names another pid: wait for this one's.
  const rt = await waitFor(
    "runtime.json",
    () => {
      const f = runtimeFile(cwd);
      return f && f.pid === up.child.pid ? f : undefined;
    },
    60_000,
  );
  await waitFor(
    "every replica Ready",
    async () => {
      const s = await status(rt);
      return s.deployments.length > 0 && s.deployments.every((d) => d.ready === d.desired) ? s : undefined;
    },
    60_000,
  );
  return { rt, up };
}

/** A CLI refusal: exit 2, exactly one line on stderr, no stack trace. */
export function oneLine(r: CliRun, re: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^akspilot: /);
  assert.match(lines[0]!, re);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

export async function control<B>(rt: RuntimeFile, method: string, path: string, body?: unknown): Promise<{ code: number; body: B }> {
  const res = await fetch(rt.controlUrl + path, {
    method,
    headers: { authorization: `Bearer ${rt.token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { code: res.status, body: (await res.json()) as B };
}

export function blueGreen(s: StatusV1): NonNullable<StatusV1["blueGreen"]> {
  assert.ok(s.blueGreen, "status has blueGreen");
  return s.blueGreen;
}

/** The watching client as its own process (~rate req/s through the gateway on keep-alive connections). */
export function startWatcher(t: T, url: string, rate = 100): { stop(): Promise<WatchSample[]> } {
  const child = spawn(process.execPath, [join(ROOT, "dist", "src", "local", "bluegreen", "watch-main.js"), url, String(rate)], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once("close", () => r()));
  t.after(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited;
  });
  return {
    async stop() {
      child.kill("SIGTERM");
      await exited;
      const last = out.trim().split("\n").at(-1)!;
      return (JSON.parse(last) as { samples: WatchSample[] }).samples;
    },
  };
}

/** Consecutive runs of the answering cluster, e.g. ["blue", "green", "blue"]. */
export function runs(samples: WatchSample[]): string[] {
  const out: string[] = [];
  for (const s of samples) if (s.cluster && out.at(-1) !== s.cluster) out.push(s.cluster);
  return out;
}
