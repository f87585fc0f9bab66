import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before } from "node:test";
import { QueueServiceClient } from "@azure/storage-queue";
import { TableServiceClient } from "@azure/data-tables";
import { BlobServiceClient } from "@azure/storage-blob";
import { startAzurite, type AzuriteHandle } from "../../src/process/azurite.js";
import { readRecords, type IdentityRecord } from "../../src/identity/records.js";
import { IdentityServices, type IdentityServicesOptions } from "../../src/identity/services.js";
import { collectOutput, QUEUE, runCli, tempDir } from "../edw/helpers.js";

export const GET_TOKEN = fileURLToPath(new URL("./fixtures/get-token.js", import.meta.url));

export type AfterHost = { after: (fn: () => void | Promise<void>) => void };

/**
 * The set-up a describe block's tests share: `setUp` runs in the block's `before` with a host whose `after`
 * hooks (temporary directories, services, Azurite) all run in the block's `after`, the last registered first;
 * one that fails does not keep the others from running, and the first failure is reported.
 */
export function sharedSetUp(setUp: (host: AfterHost) => Promise<void>): void {
  const hooks: Array<() => void | Promise<void>> = [];
  before(() => setUp({ after: (fn) => void hooks.push(fn) }));
  after(async () => {
    let first: unknown;
    for (const h of hooks.reverse()) {
      try {
        await h();
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== undefined) throw first;
  });
}

/** The identity services of a project directory, stopped by the host's `after`. */
export async function startServices(host: AfterHost, o: IdentityServicesOptions): Promise<IdentityServices> {
  const services = await IdentityServices.start(o);
  host.after(() => services.stop());
  return services;
}

/**
 * Real Azurite holding the EDW queue (and the tables and blob containers asked for), behind the identity
 * services' enforcing front for `root`; the storage account is the one the deploy recorded. Both are stopped
 * by the host's `after`, the services first.
 */
export async function startStorageFront(
  host: AfterHost,
  root: string,
  o: { tables?: string[]; containers?: string[]; services?: Omit<IdentityServicesOptions, "root" | "storageConnectionString"> } = {},
): Promise<{ azurite: AzuriteHandle; services: IdentityServices; account: string }> {
  const azurite = await startAzurite();
  host.after(() => azurite.stop());
  const cs = azurite.connectionString;
  await QueueServiceClient.fromConnectionString(cs).getQueueClient(QUEUE).createIfNotExists();
  for (const t of o.tables ?? []) await TableServiceClient.fromConnectionString(cs, { allowInsecureConnection: true }).createTable(t);
  for (const c of o.containers ?? []) await BlobServiceClient.fromConnectionString(cs).getContainerClient(c).createIfNotExists();
  const services = await startServices(host, { root, storageConnectionString: cs, ...o.services });
  return { azurite, services, account: readRecords(root).accounts[0]! };
}

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
export async function runFixture(program: string, args: string[], env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
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
