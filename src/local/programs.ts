import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { AppProgram, AppSpec } from "../blueprints/types.js";
import { UserError } from "../errors.js";

/** How the local runtime runs one of akspilot's programs as a pod. */
export interface ProgramEntry {
  /** The Node.js file a pod runs. */
  entry: string;
  /** Variables through which the program learns the port it must listen on (always PORT too). */
  portEnv: string[];
  /** Set on top of the blueprint's env, locally only: where the pod listens (never beyond loopback). */
  env: Record<string, string>;
  nodeArgs: string[];
  /** It reports counters over IPC (`stats`) and ends an idle wait when told work is waiting (`wake`). */
  capabilities: { stats: boolean; wake: boolean };
}

/** The first file that exists: the bundle (starts about twice as fast), else the module tree (tsc-only builds). */
function firstExisting(...candidates: URL[]): string {
  const paths = candidates.map((u) => fileURLToPath(u));
  return paths.find((p) => existsSync(p)) ?? paths[paths.length - 1]!;
}

/**
 * A small young generation: the consumer's garbage is short-lived request buffers, and V8's default
 * 16 MiB semi-spaces alone would put a pod near its 64Mi memory request.
 */
export const POD_NODE_ARGS = (process.env.AKSPILOT_POD_NODE_ARGS ?? "--max-semi-space-size=1 --max-old-space-size=64").split(" ").filter(Boolean);

const PROGRAMS: Partial<Record<AppProgram, () => ProgramEntry>> = {
  consumer: () => ({
    entry: firstExisting(new URL("../../bundle/consumer.mjs", import.meta.url), new URL("../apps/consumer/main.js", import.meta.url)),
    portEnv: ["AKSPILOT_HEALTH_PORT"],
    env: { AKSPILOT_HEALTH_HOST: "127.0.0.1" },
    nodeArgs: POD_NODE_ARGS,
    capabilities: { stats: true, wake: true },
  }),
  producer: () => ({
    entry: firstExisting(new URL("../../bundle/producer.mjs", import.meta.url), new URL("../apps/producer/main.js", import.meta.url)),
    portEnv: [],
    env: {},
    nodeArgs: POD_NODE_ARGS,
    capabilities: { stats: false, wake: false },
  }),
  hello: () => ({
    entry: fileURLToPath(new URL("../apps/hello/main.js", import.meta.url)),
    portEnv: [],
    // The container listens on 0.0.0.0; a local pod listens on loopback only.
    env: { HOST: "127.0.0.1" },
    nodeArgs: ["--max-old-space-size=64"],
    capabilities: { stats: false, wake: false },
  }),
};

/** The program an app runs, or one clear error naming the app and what the runtime can run. */
export function programFor(app: AppSpec, blueprint: string): ProgramEntry {
  const make = PROGRAMS[app.program];
  if (!make) {
    const known = Object.keys(PROGRAMS).join(", ");
    const what = app.program === "external" ? `runs the external image ${app.externalImage ?? app.image.repository}` : `names the program "${app.program}"`;
    throw new UserError(`app ${app.name} of blueprint ${blueprint} ${what}, which the local runtime cannot run`, `local programs: ${known}`);
  }
  return make();
}
