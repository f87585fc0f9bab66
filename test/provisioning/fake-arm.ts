/**
 * A small in-process fake of Azure Resource Manager, plugged in as the SDK clients' httpClient. It checks
 * request shapes (method, path, api-version, bearer token, required body fields) and answers with the status
 * codes and long-running-operation headers ARM documents: 201 + Azure-AsyncOperation for PUTs of slow
 * resources, 202 + Location for deletes and actions, provisioningState in bodies. It is a protocol model,
 * not Azure: it knows only what the blueprints use.
 */
import { createHttpHeaders, type HttpClient, type PipelineRequest, type PipelineResponse } from "@azure/core-rest-pipeline";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { randomUUID } from "node:crypto";

export interface Call {
  method: string;
  host: string;
  path: string;
  apiVersion: string | null;
  body: unknown;
  status: number;
}

type Json = Record<string, unknown>;
type Reply = { status: number; body?: unknown; headers: Record<string, string> };

interface Fault {
  method: string;
  match: RegExp;
  kind: "lro-failure" | "status";
  status?: number;
  code: string;
  message: string;
}

/** Resource types whose PUT/DELETE are long-running in ARM (201/202 + polling). */
const LRO_TYPES = /\/(managedclusters|registries|vaults|virtualnetworks|publicipaddresses|applicationgateways|workspaces|storageaccounts)\/[^/]+$|\/resourcegroups\/[^/]+$/i;

/** Required body fields per resource type (wire format), as the ARM specs mark them. */
const REQUIRED: Array<[RegExp, string[]]> = [
  [/\/resourcegroups\/[^/]+$/i, ["location"]],
  [/\/storageaccounts\/[^/]+$/i, ["location", "sku.name", "kind"]],
  [/\/registries\/[^/]+$/i, ["location", "sku.name"]],
  [/\/userassignedidentities\/[^/]+$/i, ["location"]],
  [/\/federatedidentitycredentials\/[^/]+$/i, ["properties.issuer", "properties.subject", "properties.audiences"]],
  [/\/roleassignments\/[^/]+$/i, ["properties.roleDefinitionId", "properties.principalId"]],
  [/\/vaults\/[^/]+$/i, ["location", "properties.tenantId", "properties.sku.name", "properties.sku.family"]],
  [/\/vaults\/[^/]+\/secrets\/[^/]+$/i, ["properties.value"]],
  [/\/managedclusters\/[^/]+$/i, ["location", "properties.dnsPrefix", "properties.agentPoolProfiles"]],
  [/\/workspaces\/[^/]+$/i, ["location"]],
  [/\/virtualnetworks\/[^/]+$/i, ["location", "properties.addressSpace.addressPrefixes"]],
  [/\/publicipaddresses\/[^/]+$/i, ["location", "sku.name", "properties.publicIPAllocationMethod"]],
  [
    /\/applicationgateways\/[^/]+$/i,
    ["location", "properties.sku.name", "properties.gatewayIPConfigurations", "properties.frontendIPConfigurations", "properties.requestRoutingRules"],
  ],
];

function at(o: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Json)[k] : undefined), o);
}

export class FakeArm {
  readonly calls: Call[] = [];
  readonly resources = new Map<string, Json>();
  /** Namespaces reported as NotRegistered. */
  unregistered = new Set<string>();
  /** Feature name → state. */
  features = new Map<string, string>([["NodeAutoProvisioningPreview", "Registered"]]);
  private operations = new Map<string, { status: "Succeeded" | "Failed"; error?: Json; result?: Json }>();
  private faults: Fault[] = [];

  constructor(readonly subscriptionId = "11111111-2222-3333-4444-555555555555") {}

  /** The next matching PUT starts an LRO that ends Failed with this error. */
  failLro(match: RegExp, code: string, message: string): void {
    this.faults.push({ method: "PUT", match, kind: "lro-failure", code, message });
  }

  /** The next matching request is answered with this status and ARM error body. */
  failWith(method: string, match: RegExp, status: number, code: string, message: string): void {
    this.faults.push({ method, match, kind: "status", status, code, message });
  }

  /** Puts a resource in place as if someone else created it. */
  seed(path: string, body: Json): void {
    this.resources.set(path.toLowerCase(), { id: path, name: path.split("/").pop(), ...body });
  }

  readonly credential: TokenCredential = {
    getToken: async (): Promise<AccessToken> => {
      // A JWT-shaped token (unsigned): prerequisites read the tenant from it.
      const claims = Buffer.from(JSON.stringify({ tid: "tenant-0000", oid: "deployer-oid", upn: "dev@example.com" })).toString("base64url");
      return { token: `e30.${claims}.sig`, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };

  readonly scopesRequested: string[] = [];
  credentialFor(): TokenCredential {
    return {
      getToken: async (scopes) => {
        this.scopesRequested.push(...(Array.isArray(scopes) ? scopes : [scopes]));
        return this.credential.getToken(scopes);
      },
    };
  }

  readonly httpClient: HttpClient = {
    sendRequest: async (req: PipelineRequest): Promise<PipelineResponse> => {
      const url = new URL(req.url);
      const body = typeof req.body === "string" && req.body.length > 0 ? (JSON.parse(req.body) as unknown) : undefined;
      const res = this.handle(req, url, body);
      this.calls.push({ method: req.method, host: url.host, path: decodeURIComponent(url.pathname), apiVersion: url.searchParams.get("api-version"), body, status: res.status });
      return {
        request: req,
        status: res.status,
        headers: createHttpHeaders({ "content-type": "application/json", "x-ms-request-id": randomUUID(), ...res.headers }),
        bodyAsText: res.body === undefined ? "" : JSON.stringify(res.body),
      };
    },
  };

  private error(status: number, code: string, message: string): Reply {
    return { status, body: { error: { code, message } }, headers: {} as Record<string, string> };
  }

  private handle(req: PipelineRequest, url: URL, body: unknown): Reply {
    const path = decodeURIComponent(url.pathname);
    const key = path.toLowerCase();
    const origin = `${url.protocol}//${url.host}`;
    if (!req.headers.get("authorization")?.startsWith("Bearer ")) return this.error(401, "AuthenticationFailed", "missing bearer token");
    if (key.startsWith("/fakeoperations/")) return this.operation(key);
    const apiVersion = url.searchParams.get("api-version");
    if (!apiVersion || !/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(apiVersion)) {
      return this.error(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.");
    }
    if (!key.startsWith(`/subscriptions/${this.subscriptionId}`)) return this.error(404, "SubscriptionNotFound", `The subscription '${path.split("/")[2]}' could not be found.`);

    const fault = this.faults.findIndex((f) => f.method === req.method && f.match.test(path));
    if (fault >= 0) {
      const f = this.faults.splice(fault, 1)[0]!;
      if (f.kind === "status") return this.error(f.status!, f.code, f.message);
      const op = randomUUID();
      this.operations.set(op, { status: "Failed", error: { code: f.code, message: f.message } });
      return {
        status: 201,
        body: { id: path, name: path.split("/").pop(), properties: { provisioningState: "Creating" } },
        headers: { "azure-asyncoperation": `${origin}/fakeoperations/${op}?api-version=2024-01-01`, "retry-after": "0" },
      };
    }

    // Registrations and preview features.
    const provider = /^\/subscriptions\/[^/]+\/providers\/([^/]+)$/i.exec(path);
    if (req.method === "GET" && provider) {
      const ns = provider[1]!;
      return { status: 200, body: { namespace: ns, registrationState: this.unregistered.has(ns) ? "NotRegistered" : "Registered" }, headers: {} };
    }
    const feature = /\/providers\/Microsoft\.Features\/providers\/[^/]+\/features\/([^/]+)$/i.exec(path);
    if (req.method === "GET" && feature) {
      return { status: 200, body: { name: feature[1], properties: { state: this.features.get(feature[1]!) ?? "NotRegistered" } }, headers: {} };
    }

    if (req.method === "GET" && /\/resourcegroups\/[^/]+\/resources$/i.test(key)) {
      const rg = key.slice(0, -"/resources".length);
      const value = [...this.resources.entries()]
        .filter(([k]) => k.startsWith(`${rg}/providers/`) && k.split("/").length === rg.split("/").length + 4)
        .map(([, v]) => ({ id: v.id, name: v.name, type: v.type }));
      return { status: 200, body: { value }, headers: {} };
    }
    if (req.method === "GET" && /\/providers\/microsoft\.authorization\/roleassignments$/i.test(key)) {
      return { status: 200, body: { value: [] }, headers: {} };
    }
    if (req.method === "POST" && key.endsWith("/listkeys")) {
      return { status: 200, body: { keys: [{ keyName: "key1", value: STORAGE_KEY, permissions: "FULL" }] }, headers: {} };
    }
    if (req.method === "POST" && key.endsWith("/importimage")) {
      const b = body as Json | undefined;
      if (!at(b, "source.sourceImage") || !Array.isArray(at(b, "targetTags"))) return this.error(400, "InvalidParameter", "source.sourceImage and targetTags are required");
      return this.accepted(origin, {});
    }

    // Scale sets in a group (AKS's node pools in its node resource group), their instances, and power actions.
    if (req.method === "GET" && /\/providers\/microsoft\.compute\/virtualmachinescalesets$/i.test(key)) {
      return {
        status: 200,
        body: { value: [...this.resources.entries()].filter(([k]) => k.startsWith(`${key}/`) && !k.slice(key.length + 1).includes("/")).map(([, v]) => v) },
        headers: {},
      };
    }
    if (req.method === "GET" && /\/virtualmachinescalesets\/[^/]+\/virtualmachines$/i.test(key)) {
      if (!this.resources.has(key.slice(0, -"/virtualmachines".length))) return this.error(404, "ResourceNotFound", "scale set not found");
      return {
        status: 200,
        body: { value: [...this.resources.entries()].filter(([k]) => k.startsWith(`${key}/`) && !k.slice(key.length + 1).includes("/")).map(([, v]) => v) },
        headers: {},
      };
    }
    const power = /^(.*\/virtualmachinescalesets\/[^/]+)\/(poweroff|start|deallocate)$/i.exec(key);
    if (req.method === "POST" && power) {
      if (!this.resources.has(power[1]!)) return this.error(404, "ResourceNotFound", "scale set not found");
      const ids = at(body, "instanceIds");
      if (!Array.isArray(ids) || ids.length === 0) return this.error(400, "InvalidParameter", "instanceIds is required (an action on every instance is not what a drill wants)");
      for (const id of ids as string[]) {
        const vm = this.resources.get(`${power[1]!}/virtualmachines/${String(id).toLowerCase()}`);
        if (!vm) return this.error(404, "ResourceNotFound", `instance ${String(id)} not found`);
        vm.powerState = power[2] === "start" ? "running" : power[2] === "poweroff" ? "stopped" : "deallocated";
      }
      return this.accepted(origin);
    }

    // Virtual networks in a group (AKS creates one in its node resource group), and their subnets.
    if (req.method === "GET" && /\/providers\/microsoft\.network\/virtualnetworks$/i.test(key)) {
      return {
        status: 200,
        body: { value: [...this.resources.entries()].filter(([k]) => k.startsWith(`${key}/`) && !k.slice(key.length + 1).includes("/")).map(([, v]) => v) },
        headers: {},
      };
    }
    const subnet = /^(.*\/virtualnetworks\/[^/]+)\/subnets\/([^/]+)$/i.exec(path);
    if (subnet && (req.method === "GET" || req.method === "PUT")) {
      const vnet = this.resources.get(subnet[1]!.toLowerCase());
      if (!vnet) return this.error(404, "ResourceNotFound", "virtual network not found");
      const subnets = ((vnet.properties as Json).subnets ?? []) as Json[];
      const i = subnets.findIndex((x) => String(x.name).toLowerCase() === subnet[2]!.toLowerCase());
      if (req.method === "GET") return i >= 0 ? { status: 200, body: subnets[i], headers: {} } : this.error(404, "NotFound", "subnet not found");
      const next = { ...(body as Json), id: path, name: subnet[2] };
      if (i >= 0) subnets[i] = next;
      else subnets.push(next);
      (vnet.properties as Json).subnets = subnets;
      const op = randomUUID();
      this.operations.set(op, { status: "Succeeded" });
      return { status: 200, body: next, headers: { "azure-asyncoperation": `${origin}/fakeoperations/${op}?api-version=2024-01-01`, "retry-after": "0" } };
    }

    switch (req.method) {
      case "PATCH": {
        const r = this.resources.get(key);
        if (!r) return this.error(404, "ResourceNotFound", "not found");
        r.properties = { ...(r.properties as Json), ...((body as Json | undefined)?.properties as Json) };
        return { status: 200, body: r, headers: {} };
      }
      case "GET": {
        const r = this.resources.get(key);
        return r ? { status: 200, body: r, headers: {} } : this.error(404, "ResourceNotFound", `The Resource '${path.split("/").slice(-2).join("/")}' was not found.`);
      }
      case "PUT":
        return this.put(path, key, body as Json | undefined, origin);
      case "DELETE": {
        // A cluster takes its node resource group with it.
        const nodeRg = ((this.resources.get(key)?.properties as Json | undefined)?.nodeResourceGroup as string | undefined)?.toLowerCase();
        if (nodeRg) for (const k of [...this.resources.keys()]) if (k.includes(`/resourcegroups/${nodeRg}/`)) this.resources.delete(k);
        const existed = this.resources.delete(key);
        for (const k of [...this.resources.keys()]) if (k.startsWith(`${key}/`)) this.resources.delete(k);
        if (!existed) return { status: 204, headers: {} };
        // Storage accounts and vaults delete synchronously (200); the other slow types answer 202 + Location.
        return LRO_TYPES.test(key) && !/\/(storageaccounts|vaults)\//.test(key) ? this.accepted(origin) : { status: 200, headers: {} };
      }
      default:
        return this.error(405, "MethodNotAllowed", `${req.method} ${path}`);
    }
  }

  private accepted(origin: string, result?: Json): Reply {
    const op = randomUUID();
    this.operations.set(op, { status: "Succeeded", result });
    return { status: 202, headers: { location: `${origin}/fakeoperations/${op}?api-version=2024-01-01`, "retry-after": "0" } };
  }

  private operation(key: string): Reply {
    const op = this.operations.get(key.split("/")[2]!);
    if (!op) return this.error(404, "OperationNotFound", "unknown operation");
    if (op.result !== undefined) return { status: 200, body: op.result, headers: {} };
    return { status: 200, body: { status: op.status, ...(op.error ? { error: op.error } : {}) }, headers: {} };
  }

  private put(path: string, key: string, body: Json | undefined, origin: string): Reply {
    for (const [re, fields] of REQUIRED) {
      if (!re.test(key)) continue;
      const missing = fields.filter((f) => at(body, f) === undefined);
      if (missing.length > 0) return this.error(400, "InvalidRequestContent", `missing required properties: ${missing.join(", ")}`);
    }
    const existed = this.resources.has(key);
    const resource = this.materialize(path, body ?? {});
    this.resources.set(key, resource);
    if (LRO_TYPES.test(key) && !/\/resourcegroups\/[^/]+$/i.test(key)) {
      if (/\/storageaccounts\//i.test(key)) return this.accepted(origin);
      const op = randomUUID();
      this.operations.set(op, { status: "Succeeded" });
      const inFlight = { ...resource, properties: { ...(resource.properties as Json), provisioningState: existed ? "Updating" : "Creating" } };
      return { status: existed ? 200 : 201, body: inFlight, headers: { "azure-asyncoperation": `${origin}/fakeoperations/${op}?api-version=2024-01-01`, "retry-after": "0" } };
    }
    // Queue and table creation answer 200 whether or not the resource existed (ARM spec).
    const status = existed || /\/(queues|tables)\/[^/]+$/i.test(key) ? 200 : 201;
    return { status, body: resource, headers: {} };
  }

  /** The stored resource: the request body plus what Azure adds (ids, generated principals, endpoints). */
  private materialize(path: string, body: Json): Json {
    const name = path.split("/").pop()!;
    const props: Json = { ...(body.properties as Json | undefined), provisioningState: "Succeeded" };
    const out: Json = { ...body, id: path, name, type: path.split("/").slice(-2, -1)[0], properties: props };
    const lower = path.toLowerCase();
    const previous = this.resources.get(lower);
    const prevProps = (previous?.properties ?? {}) as Json;
    const keep = (k: string, make: () => string) => (prevProps[k] as string | undefined) ?? make();
    if (/\/userassignedidentities\/[^/]+$/.test(lower))
      Object.assign(props, { principalId: keep("principalId", randomUUID), clientId: keep("clientId", randomUUID), tenantId: "tenant-0000" });
    if (/\/storageaccounts\/[^/]+$/.test(lower))
      props.primaryEndpoints = {
        blob: `https://${name}.blob.core.windows.net/`,
        queue: `https://${name}.queue.core.windows.net/`,
        table: `https://${name}.table.core.windows.net/`,
      };
    if (/\/registries\/[^/]+$/.test(lower)) props.loginServer = `${name}.azurecr.io`;
    if (/\/vaults\/[^/]+$/.test(lower)) props.vaultUri = `https://${name}.vault.azure.net/`;
    if (/\/vaults\/[^/]+\/secrets\/[^/]+$/.test(lower)) {
      props.secretUri = `https://vault/secrets/${name}`;
      delete props.value; // ARM never echoes a secret value
    }
    if (/\/managedclusters\/[^/]+$/.test(lower)) {
      props.oidcIssuerProfile = {
        ...(props.oidcIssuerProfile as Json),
        issuerURL: (prevProps.oidcIssuerProfile as Json | undefined)?.issuerURL ?? `https://oidc.example/${randomUUID()}/`,
      };
      props.identityProfile = prevProps.identityProfile ?? { kubeletidentity: { objectId: randomUUID() } };
      const identity = (body.identity ?? {}) as Json;
      out.identity = { ...identity, principalId: (previous?.identity as Json | undefined)?.principalId ?? randomUUID() };
      const rg = path.split("/")[4];
      props.nodeResourceGroup = `MC_${rg}_${name}_${String(body.location)}`;
      const nodeVnet = `/subscriptions/${this.subscriptionId}/resourceGroups/${String(props.nodeResourceGroup)}/providers/Microsoft.Network/virtualNetworks/aks-vnet-1234`;
      if (!this.resources.has(nodeVnet.toLowerCase())) {
        this.resources.set(nodeVnet.toLowerCase(), {
          id: nodeVnet,
          name: "aks-vnet-1234",
          location: body.location,
          properties: { subnets: [{ id: `${nodeVnet}/subnets/aks-subnet`, name: "aks-subnet", properties: { addressPrefix: "10.224.0.0/16" } }] },
        });
      }
      const addons = (props.addonProfiles ?? {}) as Record<string, Json>;
      const agic = addons.ingressApplicationGateway;
      if (agic?.enabled) agic.identity = { objectId: `agic-${name}` };
    }
    if (/\/publicipaddresses\/[^/]+$/.test(lower)) props.ipAddress = "20.0.0.1";
    if (/\/virtualnetworks\/[^/]+$/.test(lower)) {
      props.subnets = ((props.subnets ?? []) as Json[]).map((s) => ({ ...s, id: `${path}/subnets/${String(s.name)}` }));
    }
    if (/\/roleassignments\/[^/]+$/.test(lower)) props.scope = path.split("/providers/Microsoft.Authorization/")[0];
    return out;
  }

  /**
   * An AKS cluster as ARM shows it after creation: the managed cluster with its pools, and one scale set per
   * pool in the node resource group (tagged with its pool, as AKS does) with `instances` instances each.
   */
  seedAksCluster(resourceGroup: string, name: string, pools: { name: string; mode: "System" | "User"; instances: number }[]): { nodeResourceGroup: string } {
    const sub = `/subscriptions/${this.subscriptionId}`;
    const nodeResourceGroup = `MC_${resourceGroup}_${name}_westus3`;
    this.seed(`${sub}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${name}`, {
      location: "westus3",
      type: "Microsoft.ContainerService/managedClusters",
      properties: { provisioningState: "Succeeded", nodeResourceGroup, agentPoolProfiles: pools.map((p) => ({ name: p.name, mode: p.mode, count: p.instances })) },
    });
    pools.forEach((p, i) => {
      const vmss = `aks-${p.name}-1234567${i}-vmss`;
      const path = `${sub}/resourceGroups/${nodeResourceGroup}/providers/Microsoft.Compute/virtualMachineScaleSets/${vmss}`;
      this.seed(path, {
        location: "westus3",
        type: "Microsoft.Compute/virtualMachineScaleSets",
        tags: { "aks-managed-poolName": p.name },
        sku: { name: "Standard_D2s_v3", capacity: p.instances },
      });
      for (let n = 0; n < p.instances; n++) {
        this.seed(`${path}/virtualMachines/${n}`, {
          name: `${vmss}_${n}`,
          instanceId: String(n),
          powerState: "running",
          properties: { osProfile: { computerName: `${vmss}${String(n).padStart(6, "0")}` } },
        });
      }
    });
    return { nodeResourceGroup };
  }

  /** Power actions on scale-set instances, in order: `poweroff <vmss> [ids]`. */
  powerActions(): string[] {
    return this.calls
      .filter((c) => c.method === "POST" && /\/virtualMachineScaleSets\/[^/]+\/(poweroff|start|deallocate)$/i.test(c.path) && c.status < 400)
      .map((c) => `${c.path.split("/").pop()} ${c.path.split("/").slice(-2, -1)[0]} ${JSON.stringify(at(c.body, "instanceIds"))}`);
  }

  /** PUTs, as `METHOD path` strings, in order. */
  puts(): string[] {
    return this.calls.filter((c) => c.method === "PUT").map((c) => c.path);
  }
}

/** A fake key that the secret-scanning tests look for. */
export const STORAGE_KEY = "FAKEKEY+c2VjcmV0LXN0b3JhZ2Uta2V5LW5ldmVyLXByaW50ZWQ=";
