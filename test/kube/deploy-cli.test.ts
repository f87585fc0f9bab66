import assert from "node:assert/strict";
import { scratchDir } from "../scratch.js";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { sourcePath } from "./helpers.js";

const bin = resolve(process.cwd(), "bin", "akspilot.js");
const cli = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", cwd: scratchDir("deploy-cli-"), env, timeout: 30000 });

test("plan --target aks --values: the values file fills the placeholders (deploy's hint to pass --values is honoured)", () => {
  const without = cli(["plan", "edw", "--target", "aks"]);
  assert.equal(without.status, 0, without.stderr);
  assert.match(without.stdout, /values still missing \(deploy would refuse\): .*registry/);
  const r = cli(["plan", "edw", "--target", "aks", "--values", sourcePath("fixtures", "values.yaml")]);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /values still missing/);
});

test("plan --target aks --cluster picks the bluegreen cluster; an unknown one is one line", () => {
  const values = sourcePath("fixtures", "values.yaml");
  const green = cli(["plan", "bluegreen", "--target", "aks", "--values", values, "--cluster", "green"]);
  assert.equal(green.status, 0, green.stderr);
  assert.match(green.stdout, /would apply bluegreen \(cluster green\)/);
  const bad = cli(["plan", "bluegreen", "--target", "aks", "--values", values, "--cluster", "purple"]);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
  assert.match(bad.stderr, /no cluster "purple"/);
});

test("plan --target aks --cloud AzureChinaCloud reaches the manifests; a bad values file is one line naming it", () => {
  const dir = scratchDir("deploy-cli-values-");
  writeFileSync(join(dir, "bad.yaml"), "regsitry: acr\n");
  const bad = cli(["deploy", "edw", "--target", "aks", "--values", join(dir, "bad.yaml")]);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
  assert.match(bad.stderr, /bad\.yaml: unknown field regsitry/);
  const china = cli(["plan", "edw", "--target", "aks", "--cloud", "AzureChinaCloud", "--values", sourcePath("fixtures", "values.yaml")]);
  assert.equal(china.status, 0, china.stderr);
});

test("deploy --target aks --values with no kubectl on PATH: past the values check, one line saying what to install", () => {
  const r = cli(["deploy", "edw", "--target", "aks", "--values", sourcePath("fixtures", "values.yaml")], { ...process.env, PATH: "/nonexistent" });
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, /kubectl is not installed/);
});

test("deploy --target local piped into a reader that closes early: no crash, the deploy finishes", () => {
  const cwd = scratchDir("deploy-cli-pipe-");
  const sh = `"${process.execPath}" "${bin}" deploy resilient-web --target local | head -c 1 >/dev/null; echo "rc=\${PIPESTATUS[0]}" >&2`;
  const r = spawnSync("bash", ["-c", sh], { encoding: "utf8", cwd, timeout: 60000 });
  assert.match(r.stderr, /rc=0/, r.stderr);
  assert.doesNotMatch(r.stderr, /EPIPE|at /);
  const again = spawnSync(process.execPath, [bin, "deploy", "resilient-web", "--target", "local"], { encoding: "utf8", cwd, timeout: 60000 });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /No changes/);
  const destroy = spawnSync(process.execPath, [bin, "destroy", "resilient-web", "--target", "local"], { encoding: "utf8", cwd, timeout: 60000 });
  assert.equal(destroy.status, 0, destroy.stderr);
});
