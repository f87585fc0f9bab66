import { Option, type Command } from "commander";
import { UserError } from "../../errors.js";

interface TokenOptions {
  cluster?: string;
  ttl?: string;
}

interface ExplainOptions {
  resource: "queue" | "table" | "blob" | "keyvault";
  name?: string;
  identity?: string;
  cluster?: string;
  json?: boolean;
  send?: boolean;
}

interface ExecOptions {
  as?: string;
  identity?: string;
  cluster?: string;
}

/** `identity token`, `identity explain`, `exec`: workload identity on the local target. */
export function registerIdentityCommands(program: Command): void {
  const identity = program.command("identity").description("workload identity on the local target: projected tokens and the chain to a resource");
  identity
    .command("token")
    .description("print a projected service-account token as the local cluster's OIDC issuer signs it (it is a credential: handle it as one)")
    .argument("<namespace/serviceaccount>", "e.g. aqs-demo/aqs-app-service-account")
    .option("--cluster <name>", "the local cluster (when more than one is recorded)")
    .option("--ttl <seconds>", "lifetime in seconds", "3600")
    .action(async (who: string, opts: TokenOptions) => {
      const { ClusterIssuer, findCluster, parseServiceAccount } = await import("../../identity/issuer.js");
      const { namespace, serviceAccount } = parseServiceAccount(who);
      const ttl = Number(opts.ttl);
      if (!Number.isInteger(ttl) || ttl < 60 || ttl > 86_400) throw new UserError(`--ttl "${opts.ttl}" is not a number of seconds between 60 and 86400`, "pass e.g. --ttl 3600");
      const issuer = await ClusterIssuer.open(process.cwd(), findCluster(process.cwd(), opts.cluster));
      const { token } = await issuer.serviceAccountToken(namespace, serviceAccount, { ttlSeconds: ttl });
      process.stdout.write(`${token}\n`);
    });
  identity
    .command("explain")
    .description("walk service account → client id → federated credential → token → role or access policy → resource; say where it breaks and the az command that fixes it")
    .argument("<namespace/serviceaccount>", "e.g. airflow/airflow")
    .addOption(new Option("--resource <kind>", "what the workload reaches").choices(["queue", "table", "blob", "keyvault"]).makeOptionMandatory())
    .option("--name <name>", "the queue, table, container or vault (any of the kind when omitted)")
    .option("--identity <name>", "the identity the service account is annotated with (default: the one federated with it)")
    .option("--cluster <name>", "the local cluster (when more than one is recorded)")
    .option("--send", "queue: the workload only sends (a producer: Storage Queue Data Message Sender is enough)")
    .option("--json", "print the chain as JSON")
    .action(async (who: string, opts: ExplainOptions) => {
      if (opts.send && opts.resource !== "queue") throw new UserError("--send applies to --resource queue", "drop --send, or use --resource queue");
      const [{ explainChain, formatChain }, { parseServiceAccount }] = await Promise.all([import("../../identity/explain.js"), import("../../identity/issuer.js")]);
      const { namespace, serviceAccount } = parseServiceAccount(who);
      const links = await explainChain(process.cwd(), {
        namespace,
        serviceAccount,
        resource: opts.resource,
        name: opts.name,
        identity: opts.identity,
        cluster: opts.cluster,
        send: opts.send,
      });
      process.stdout.write(opts.json ? `${JSON.stringify(links, null, 2)}\n` : `${formatChain(links).join("\n")}\n`);
      if (links.some((l) => !l.ok)) process.exitCode = 1;
    });
  program
    .command("exec")
    .description(
      "run a program as a pod would: Azure's host names reach the local services through a proxy, the local CA trusted, and with --as a service account's workload identity",
    )
    .option("--as <namespace/serviceaccount>", "give the program this service account's workload-identity variables")
    .option("--identity <name>", "with --as: the identity its service account is annotated with (default: the one federated with it)")
    .option("--cluster <name>", "the local cluster (when more than one is recorded)")
    .argument("<command...>", "the program and its arguments, after --")
    .action(async (command: string[], opts: ExecOptions) => {
      const [{ execWithIdentity }, { readRuntimeFile }] = await Promise.all([import("../../identity/exec.js"), import("../../local/runtime-file.js")]);
      const running = readRuntimeFile(process.cwd());
      process.exitCode = await execWithIdentity({
        root: process.cwd(),
        as: opts.as,
        identity: opts.identity,
        cluster: opts.cluster,
        command,
        storageConnectionString: running?.storage?.connectionString ?? process.env.AZURE_STORAGE_CONNECTION_STRING?.trim(),
      });
    });
}
