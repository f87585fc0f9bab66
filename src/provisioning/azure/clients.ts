import type { TokenCredential } from "@azure/core-auth";
import type { HttpClient } from "@azure/core-rest-pipeline";
import { ResourceManagementClient } from "@azure/arm-resources";
import { StorageManagementClient } from "@azure/arm-storage";
import { ContainerServiceClient } from "@azure/arm-containerservice";
import { ContainerRegistryManagementClient } from "@azure/arm-containerregistry";
import { KeyVaultManagementClient } from "@azure/arm-keyvault";
import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import { AuthorizationManagementClient } from "@azure/arm-authorization";
import { NetworkManagementClient } from "@azure/arm-network";
import { cloudOf, type CloudName } from "../clouds.js";

export interface ArmConnection {
  credential: TokenCredential;
  subscriptionId: string;
  cloud: CloudName;
  /** ARM base URL; the cloud's Resource Manager unless overridden (a loopback fake in protocol tests). */
  endpoint?: string;
  /** Transport override: the narrow seam protocol tests use. */
  httpClient?: HttpClient;
}

/**
 * One typed client per resource provider, created on first use (arm-network alone is large to load).
 * Older generated clients take `credentialScopes`, newer ones `credentials.scopes`; both are set.
 */
export class ArmClients {
  private cache = new Map<string, unknown>();

  constructor(readonly conn: ArmConnection) {}

  private options() {
    const cloud = cloudOf(this.conn.cloud);
    const endpoint = this.conn.endpoint ?? cloud.resourceManager;
    return {
      endpoint,
      $host: endpoint,
      credentialScopes: [cloud.armScope],
      credentials: { scopes: [cloud.armScope] },
      httpClient: this.conn.httpClient,
      // Retries of throttled or failed calls are the pipeline's; the engine adds none on top.
      retryOptions: { maxRetries: 3, retryDelayInMs: this.conn.httpClient ? 1 : 1000 },
    };
  }

  private get<T>(key: string, make: () => T): T {
    if (!this.cache.has(key)) this.cache.set(key, make());
    return this.cache.get(key) as T;
  }

  get resources(): ResourceManagementClient {
    return this.get("resources", () => new ResourceManagementClient(this.conn.credential, this.conn.subscriptionId, this.options()));
  }
  get storage(): StorageManagementClient {
    return this.get("storage", () => new StorageManagementClient(this.conn.credential, this.conn.subscriptionId, this.options()));
  }
  get aks(): ContainerServiceClient {
    return this.get("aks", () => new ContainerServiceClient(this.conn.credential, this.conn.subscriptionId, this.options()));
  }
  get registry(): ContainerRegistryManagementClient {
    return this.get("registry", () => new ContainerRegistryManagementClient(this.conn.credential, this.conn.subscriptionId, this.options()));
  }
  get keyVault(): KeyVaultManagementClient {
    return this.get("keyVault", () => new KeyVaultManagementClient(this.conn.credential, this.conn.subscriptionId, this.options()));
  }
  get msi(): ManagedServiceIdentityClient {
    return this.get("msi", () => new ManagedServiceIdentityClient(this.conn.credential, this.conn.subscriptionId, this.options()));
  }
  get authorization(): AuthorizationManagementClient {
    return this.get("authorization", () => new AuthorizationManagementClient(this.conn.credential, this.conn.subscriptionId, this.options()));
  }
  get network(): NetworkManagementClient {
    return this.get("network", () => new NetworkManagementClient(this.conn.credential, this.conn.subscriptionId, this.options()));
  }
}
