import { spawn } from "node:child_process";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { startAzurite, type AzuriteHandle } from "../process/azurite.js";
import { localDir } from "../provisioning/local/ledger.js";
import { findCluster, parseServiceAccount } from "./issuer.js";
import { readRecords } from "./records.js";
import { IdentityServices } from "./services.js";

export interface ExecOptions {
  root: string;
  /** `<namespace>/<serviceaccount>`: the program gets that service account's workload-identity variables. */
  as?: string;
  /** The client id on the service account (identity name, client or principal id); else the identity federated with it. */
  identity?: string;
  cluster?: string;
  /** Local storage behind the front; else embedded Azurite on the local deploy's data. */
  storageConnectionString?: string;
  command: string[];
  /** Where the program's output goes (tests); the terminal otherwise. */
  stdio?: "inherit" | "pipe";
  onOutput?: (chunk: string, stream: "stdout" | "stderr") => void;
}

/** The client id a service account would be annotated with: the identity federated with its subject. */
export function clientIdFor(root: string, namespace: string, serviceAccount: string, issuerUrl: string, identity?: string): string {
  const r = readRecords(root);
  if (identity) {
    const w = identity.toLowerCase();
    const i = r.identities.find((x) => [x.name, x.clientId, x.principalId].some((v) => v.toLowerCase() === w));
    if (!i) throw new UserError(`--identity "${identity}" is not an identity of a local deploy here`, `identities: ${r.identities.map((x) => x.name).join(", ") || "none"}`);
    return i.clientId;
  }
  const subject = `system:serviceaccount:${namespace}:${serviceAccount}`;
  const fed = r.federated.find((f) => f.subject === subject && f.issuer === issuerUrl);
  const i = fed && r.identities.find((x) => x.name === fed.identity);
  if (!i)
    throw new UserError(`no identity is federated with ${subject}`, `pass --identity <name>, or run \`akspilot identity explain ${namespace}/${serviceAccount} --resource queue\``);
  return i.clientId;
}

/**
 * `akspilot exec [--as ns/sa] -- cmd…`: runs any program the way a pod runs: HTTPS_PROXY to the local
 * proxy (Azure's host names answered by the local services, others passed through), the CA for Node,
 * Python and OpenSSL, and with --as the workload-identity variables of that service account.
 */
export async function execWithIdentity(o: ExecOptions): Promise<number> {
  if (o.command.length === 0) throw new UserError("no command to run", "put it after --, e.g. `akspilot exec --as airflow/airflow -- python3 app.py`");
  const sa = o.as ? parseServiceAccount(o.as) : undefined;
  const cluster = sa ? findCluster(o.root, o.cluster) : undefined;
  const clientId = sa && cluster ? clientIdFor(o.root, sa.namespace, sa.serviceAccount, cluster.issuerUrl, o.identity) : undefined;
  let azurite: AzuriteHandle | undefined;
  let services: IdentityServices | undefined;
  try {
    let cs = o.storageConnectionString;
    if (!cs && readRecords(o.root).accounts.length > 0) {
      azurite = await startAzurite({ dataDir: join(localDir(o.root), "azurite") });
      cs = azurite.connectionString;
    }
    services = await IdentityServices.start({ root: o.root, storageConnectionString: cs, keyVault: readRecords(o.root).vaults.length > 0, proxy: true });
    const env: NodeJS.ProcessEnv = { ...process.env, ...services.proxyEnv() };
    if (sa && cluster && clientId) Object.assign(env, await services.workloadEnv(cluster, sa.namespace, sa.serviceAccount, clientId));
    const child = spawn(o.command[0]!, o.command.slice(1), { env, stdio: o.stdio === "pipe" ? ["ignore", "pipe", "pipe"] : "inherit" });
    child.stdout?.on("data", (d: Buffer) => o.onOutput?.(d.toString(), "stdout"));
    child.stderr?.on("data", (d: Buffer) => o.onOutput?.(d.toString(), "stderr"));
    const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
    const onInt = forward("SIGINT");
    const onTerm = forward("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    try {
      return await new Promise<number>((resolve, reject) => {
        child.once("error", (e) =>
          reject((e as NodeJS.ErrnoException).code === "ENOENT" ? new UserError(`cannot run "${o.command[0]}": not found`, "check the command and PATH") : e),
        );
        child.once("close", (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
      });
    } finally {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
    }
  } finally {
    await services?.stop();
    await azurite?.stop();
  }
}
