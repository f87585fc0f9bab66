import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readRecords, type IdentityRecord } from "../../src/identity/records.js";
import { collectOutput, runCli, tempDir } from "../edw/helpers.js";

export const GET_TOKEN = fileURLToPath(new URL("./fixtures/get-token.js", import.meta.url));

type AfterHost = { after: (fn: () => void | Promise<void>) => void };

/** A project directory after `akspilot deploy edw --target local`: identities, federated credentials, roles. */
export async function deployedEdw(t: AfterHost): Promise<{ root: string; workload: IdentityRecord; producer: IdentityRecord }> {
  const root = tempDir(t, "akspilot-identity-");
  const r = await runCli(t, ["deploy", "edw", "--target", "local"], { cwd: root });
  if (r.code !== 0) throw new Error(`deploy failed: ${r.stderr}`);
  const ids = readRecords(root).identities;
  const workload = ids.find((i) => i.name.startsWith("mi-aks-workload-identity-"))!;
  const producer = ids.find((i) => i.name.startsWith("mi-aks-producer-identity-"))!;
  return { root, workload, producer };
}

/** Runs a fixture program as a pod runs its app: a separate process with only `env` (and PATH, HOME); throws unless it exits 0. */
async function runFixture(program: string, args: string[], env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [program, ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out = collectOutput(child);
  const code = await new Promise<number | null>((r) => child.once("close", (c) => r(c)));
  if (code !== 0) throw new Error(`${basename(program, ".js")} exited ${code}: ${out.stderr()}`);
  return { stdout: out.stdout(), stderr: out.stderr() };
}

export interface TokenResult {
  ok: boolean;
  name?: string;
  message?: string;
  aud?: string;
  oid?: string;
  appid?: string;
  iss?: string;
  expiresOn?: number;
}

/** Runs the fixture program (a separate process, as a pod is) with the given environment. */
export async function getToken(
  env: Record<string, string>,
  mode: "workload" | "default",
  scope: string,
  count = 1,
  gapMs = 0,
): Promise<{ results: TokenResult[]; stdout: string; stderr: string }> {
  const { stdout, stderr } = await runFixture(GET_TOKEN, [mode, scope, String(count), String(gapMs)], env);
  return { results: JSON.parse(stdout) as TokenResult[], stdout, stderr };
}

export function writeTokenFile(dir: string, token: string, name = "token"): string {
  const p = join(dir, name);
  writeFileSync(p, token, { mode: 0o600 });
  return p;
}

export const AZURE_APP = fileURLToPath(new URL("./fixtures/azure-app.js", import.meta.url));

export interface StepResult {
  op: string;
  ok: boolean;
  result?: unknown;
  status?: number;
  code?: string;
  name?: string;
  message?: string;
}

/** Runs the Azure-written fixture program with `env` (a pod's environment) and returns each step's outcome. */
export async function runAzureApp(env: Record<string, string>, steps: Array<Record<string, string>>): Promise<{ results: StepResult[]; stdout: string; stderr: string }> {
  const { stdout, stderr } = await runFixture(AZURE_APP, [JSON.stringify(steps)], env);
  return { results: JSON.parse(stdout.trim().split("\n").pop()!) as StepResult[], stdout, stderr };
}

/** A project directory after `akspilot deploy airflow-infra --target local`. */
export async function deployedAirflow(t: AfterHost): Promise<{ root: string; identity: IdentityRecord }> {
  const root = tempDir(t, "akspilot-identity-af-");
  const r = await runCli(t, ["deploy", "airflow-infra", "--target", "local"], { cwd: root });
  if (r.code !== 0) throw new Error(`deploy failed: ${r.stderr}`);
  const identity = readRecords(root).identities.find((i) => i.name.startsWith("airflow-identity-"))!;
  return { root, identity };
}
