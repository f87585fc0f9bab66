import type { TokenCredential } from "@azure/core-auth";
import type { HttpClient } from "@azure/core-rest-pipeline";
import { DefaultAzureCredential } from "@azure/identity";
import { UserError, isUserError } from "../../errors.js";
import { cloudOf, type CloudName } from "../clouds.js";
import type { ProvisionLog } from "../log.js";
import { checkSignIn, checkSubscription, cliDefaultSubscription } from "../prerequisites.js";
import type { Observed, Provider, RemoveOutcome, ResolvedNode, StepContext } from "../provider.js";
import { isSecretRef, type Outputs } from "../refs.js";
import type { ResourceRecord } from "../state.js";
import type { ResourceGraph, ResourceKind } from "../types.js";
import { ArmClients } from "./clients.js";
import { explainArmError } from "./errors.js";
import { HANDLERS, storageKey, type AzureContext, type KindHandler } from "./handlers.js";

export interface AzureProviderOptions {
  cloud: CloudName;
  subscriptionId?: string;
  /** DefaultAzureCredential when omitted. */
  credential?: TokenCredential;
  /** Transport and endpoint overrides (protocol tests). */
  httpClient?: HttpClient;
  endpoint?: string;
  /** Tenant for Key Vault; read from the sign-in token when omitted. */
  tenantId?: string;
  pollMs?: number;
  replicationDelayMs?: number;
}

/** Azure, through the typed ARM SDKs. Handlers per kind do the calls; this class adds sign-in and error wording. */
export class AzureProvider implements Provider {
  readonly target = "azure" as const;
  private arm?: ArmClients;
  private tenantId?: string;

  constructor(private readonly opts: AzureProviderOptions) {}

  get subscriptionId(): string | undefined {
    return this.arm?.conn.subscriptionId;
  }

  async preflight(graph: ResourceGraph, log: ProvisionLog): Promise<void> {
    const cloud = cloudOf(this.opts.cloud);
    const credential = this.opts.credential ?? new DefaultAzureCredential({ authorityHost: cloud.authorityHost });
    const signIn = await checkSignIn(credential, this.opts.cloud);
    const cli = cliDefaultSubscription(this.opts.cloud);
    const subscriptionId = this.opts.subscriptionId ?? process.env.AZURE_SUBSCRIPTION_ID ?? cli?.id;
    if (!subscriptionId) {
      throw new UserError("no Azure subscription chosen", "pass --subscription <id>, set AZURE_SUBSCRIPTION_ID, or run `az account set --subscription <id>`");
    }
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(subscriptionId)) {
      throw new UserError(`subscription "${subscriptionId}" is not a subscription id (a GUID)`, "copy it from `az account list -o table`");
    }
    this.tenantId = this.opts.tenantId ?? signIn.tenantId;
    this.arm = new ArmClients({ credential, subscriptionId, cloud: this.opts.cloud, endpoint: this.opts.endpoint, httpClient: this.opts.httpClient });
    const name = cli?.id === subscriptionId ? ` (${cli.name})` : "";
    log.info(`Signed in${signIn.user ? ` as ${signIn.user}` : ""}; tenant ${this.tenantId || "?"}; subscription ${subscriptionId}${name}; cloud ${this.opts.cloud}`);
    await checkSubscription(this.arm, graph, log);
  }

  private context(step: StepContext): AzureContext {
    if (!this.arm) throw new Error("AzureProvider used before preflight");
    return {
      arm: this.arm,
      subscriptionId: this.arm.conn.subscriptionId,
      tenantId: this.tenantId ?? "",
      cloud: this.opts.cloud,
      step,
      pollMs: this.opts.pollMs ?? 5000,
      replicationDelayMs: this.opts.replicationDelayMs ?? 10_000,
      secret: (v) => (isSecretRef(v) ? step.secret(v) : Promise.resolve(v)),
    };
  }

  private handler(kind: ResourceKind): KindHandler<ResourceKind> {
    // The map is keyed by kind, so the node passed in always matches its handler's parameter type.
    return HANDLERS[kind] as unknown as KindHandler<ResourceKind>;
  }

  private async call<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      if (isUserError(e)) throw e;
      throw explainArmError(e, action);
    }
  }

  read(node: ResolvedNode, ctx: StepContext, previous: ResourceRecord | undefined): Promise<Observed | undefined> {
    return this.call(`read ${node.kind} ${node.name}`, () => this.handler(node.kind).read(node as never, this.context(ctx), previous));
  }

  desired(node: ResolvedNode, ctx: StepContext): Promise<Record<string, unknown>> {
    return this.call(`prepare ${node.kind} ${node.name}`, async () => this.handler(node.kind).desired(node as never, this.context(ctx)));
  }

  apply(node: ResolvedNode, ctx: StepContext): Promise<Outputs> {
    return this.call(`create or update ${node.kind} ${node.name}`, () => this.handler(node.kind).apply(node as never, this.context(ctx)));
  }

  remove(_id: string, record: ResourceRecord, ctx: StepContext): Promise<RemoveOutcome> {
    return this.call(`delete ${record.kind} ${record.name}`, () => this.handler(record.kind).remove(record, this.context(ctx)));
  }

  async readSecret(sourceId: string, key: string, ctx: StepContext): Promise<string> {
    const rec = ctx.record(sourceId);
    if (rec?.kind === "storageAccount" && key === "primaryKey") {
      return this.call(`read the keys of storage account ${rec.name}`, () => storageKey(this.context(ctx), String(rec.props.resourceGroup), rec.name));
    }
    throw new Error(`no secret "${key}" on ${sourceId}`);
  }

  async close(): Promise<void> {
    this.arm = undefined;
  }
}
