// `akspilot --version` and `--help` answer without loading the Azure SDKs or the Kubernetes models:
// every package the process loads is recorded by a module hook in the real CLI process.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { BIN, tempDir } from "../edw/helpers.js";

function packagesLoaded(t: { after: (fn: () => void) => void }, args: string[]): { packages: Set<string>; stdout: string } {
  const dir = tempDir(t, "akspilot-startup-");
  const log = join(dir, "loaded.txt");
  writeFileSync(log, "");
  const hooks = join(dir, "hooks.mjs");
  writeFileSync(
    hooks,
    `
    import { appendFileSync } from "node:fs";
    export async function load(url, context, next) {
      const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(url);
      if (m) appendFileSync(${JSON.stringify(log)}, m[1] + "\\n");
      return next(url, context);
    }
  `,
  );
  const register = join(dir, "register.mjs");
  writeFileSync(register, `import { register } from "node:module"; register(${JSON.stringify(pathToFileURL(hooks).href)});`);
  const r = spawnSync(process.execPath, ["--import", pathToFileURL(register).href, BIN, ...args], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return { packages: new Set(readFileSync(log, "utf8").split("\n").filter(Boolean)), stdout: r.stdout };
}

test("--version and --help load no Azure SDK and no Kubernetes model", (t) => {
  const version = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")).version as string;
  for (const args of [["--version"], ["--help"], ["up", "--help"], ["manifests", "--help"], ["deploy", "--help"]]) {
    const { packages, stdout } = packagesLoaded(t, args);
    if (args[0] === "--version") assert.equal(stdout.trim(), version);
    const heavy = [...packages].filter((p) => p.startsWith("@azure/") || p.includes("kubernetes-models") || p === "ajv" || p === "hono" || p === "azurite");
    assert.deepEqual(heavy, [], `${args.join(" ")} loaded ${heavy.join(", ")}`);
    assert.ok(packages.has("commander"), "the hook saw the CLI's own imports");
  }
});
