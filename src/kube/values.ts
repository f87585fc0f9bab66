import { Ajv, type ErrorObject } from "ajv";
import { UserError } from "../errors.js";
import { parseUserYaml, readUserFile } from "../util/user-file.js";
import { clip } from "../util/text.js";
import type { CloudName } from "./cloud.js";

/** Settings a user supplies with `--values FILE` (YAML). Every field is optional. */
export interface KubeValues {
  cloud?: CloudName;
  /** ACR name (`acrdemo`) or full login server (`acrdemo.azurecr.io`). */
  registry?: string;
  /** Tag of the images akspilot builds (consumer, producer, hello). */
  tag?: string;
  storageAccountName?: string;
  /** Client id of the user-assigned identity the workloads federate with. */
  workloadIdentityClientId?: string;
  /** Client id of the producer's own identity (it may only send to the queue). */
  producerIdentityClientId?: string;
  tenantId?: string;
  /** Full image reference per app name, replacing registry + repository + tag. */
  images?: Record<string, string>;
  apps?: Record<string, AppOverride>;
  hardening?: HardeningOverride;
  bluegreen?: {
    activeCluster?: string;
    appGateway?: { subscriptionId?: string; resourceGroup?: string; name?: string };
    /** Client id of the identity AGIC uses to manage the gateway. */
    agicIdentityClientId?: string;
  };
  airflow?: {
    keyVaultUrl?: string;
    logsStorageAccountName?: string;
    logsResourceGroup?: string;
    dagsRepo?: string;
    /** git-sync revision of the DAG repository: a commit or tag (`HEAD` follows the branch, as the seed). */
    dagsRev?: string;
    /** Let the chart make its own database password and keys (the seed's way) instead of Key Vault's. */
    chartManagedSecrets?: boolean;
  };
}

export interface AppOverride {
  replicas?: number;
  resources?: { requests?: { cpu?: string; memory?: string }; limits?: { cpu?: string; memory?: string } };
  /** Keep each pod's deletion cost equal to its in-flight work (needs the pod's API token). */
  podDeletionCost?: boolean;
  kind?: "Deployment" | "Job";
  /** Another service account (and so identity) for the app, e.g. the seed's shared one. */
  serviceAccountName?: string;
  /** Jobs: retries before the Job fails, and the longest it may run. */
  backoffLimit?: number;
  activeDeadlineSeconds?: number;
}

export interface HardeningOverride {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  dropAllCapabilities?: boolean;
  seccompProfile?: "RuntimeDefault" | "Unconfined";
  automountServiceAccountToken?: boolean;
}

// Kubernetes resource quantities (e.g. 250m, 64Mi, 1.5, 2e3).
const QUANTITY = "^(\\d+(\\.\\d*)?|\\.\\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\\d+)?$";
const DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
const GUID = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

const str = { type: "string", minLength: 1 };
const quantities = {
  type: "object",
  additionalProperties: false,
  properties: { cpu: { type: "string", pattern: QUANTITY }, memory: { type: "string", pattern: QUANTITY } },
};

/** JSON Schema of the values file; additionalProperties:false everywhere so a typo is an error, not a no-op. */
export const VALUES_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    cloud: { enum: ["AzurePublicCloud", "AzureChinaCloud"] },
    registry: { type: "string", pattern: "^[a-zA-Z0-9][a-zA-Z0-9.-]*[a-zA-Z0-9](:[0-9]+)?$" },
    tag: { type: "string", pattern: "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$" },
    storageAccountName: { type: "string", pattern: "^[a-z0-9]{3,24}$" },
    workloadIdentityClientId: { type: "string", pattern: GUID },
    producerIdentityClientId: { type: "string", pattern: GUID },
    tenantId: { type: "string", pattern: GUID },
    images: { type: "object", additionalProperties: str },
    apps: {
      type: "object",
      additionalProperties: {
        type: "object",
        additionalProperties: false,
        properties: {
          replicas: { type: "integer", minimum: 0 },
          resources: { type: "object", additionalProperties: false, properties: { requests: quantities, limits: quantities } },
          podDeletionCost: { type: "boolean" },
          kind: { enum: ["Deployment", "Job"] },
          serviceAccountName: { type: "string", pattern: DNS_LABEL },
          backoffLimit: { type: "integer", minimum: 0 },
          activeDeadlineSeconds: { type: "integer", minimum: 1 },
        },
      },
    },
    hardening: {
      type: "object",
      additionalProperties: false,
      properties: {
        runAsNonRoot: { type: "boolean" },
        runAsUser: { type: "integer", minimum: 0 },
        readOnlyRootFilesystem: { type: "boolean" },
        allowPrivilegeEscalation: { type: "boolean" },
        dropAllCapabilities: { type: "boolean" },
        seccompProfile: { enum: ["RuntimeDefault", "Unconfined"] },
        automountServiceAccountToken: { type: "boolean" },
      },
    },
    bluegreen: {
      type: "object",
      additionalProperties: false,
      properties: {
        activeCluster: { type: "string", pattern: DNS_LABEL },
        appGateway: {
          type: "object",
          additionalProperties: false,
          properties: { subscriptionId: { type: "string", pattern: GUID }, resourceGroup: str, name: str },
        },
        agicIdentityClientId: { type: "string", pattern: GUID },
      },
    },
    airflow: {
      type: "object",
      additionalProperties: false,
      properties: {
        keyVaultUrl: { type: "string", pattern: "^https://" },
        logsStorageAccountName: { type: "string", pattern: "^[a-z0-9]{3,24}$" },
        logsResourceGroup: str,
        dagsRepo: str,
        dagsRev: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$" },
        chartManagedSecrets: { type: "boolean" },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true });
const validateValues = ajv.compile<KubeValues>(VALUES_SCHEMA);

/** Checks parsed values; the error names the file, the path and what is allowed there. */
export function checkValues(data: unknown, source: string): KubeValues {
  if (data === null || data === undefined) return {};
  if (validateValues(data)) return data;
  throw new UserError(`${source}: ${describeError(pickError(validateValues.errors ?? []))}`, "fix the values file (see docs/kubernetes.md for the fields)");
}

export function loadValuesFile(path: string): KubeValues {
  const text = readUserFile(path, "values file");
  return checkValues(parseUserYaml(text, clip(path)), clip(path));
}

// Unknown keys are the most useful thing to report first: they are usually typos.
function pickError(errors: ErrorObject[]): ErrorObject | undefined {
  return errors.find((e) => e.keyword === "additionalProperties") ?? errors[0];
}

function describeError(e: ErrorObject | undefined): string {
  if (!e) return "invalid values";
  const at = e.instancePath === "" ? "(top level)" : dotted(e.instancePath);
  switch (e.keyword) {
    case "additionalProperties":
      return `unknown field ${joinPath(e.instancePath, String(e.params.additionalProperty))}`;
    case "enum":
      return `${at} must be one of ${(e.params.allowedValues as unknown[]).join(", ")}`;
    case "pattern":
      return `${at} has an invalid value (${describePattern(e.params.pattern as string)})`;
    default:
      return `${at} ${e.message ?? "is invalid"}`;
  }
}

function describePattern(pattern: string): string {
  if (pattern === QUANTITY) return "expected a Kubernetes quantity such as 250m or 64Mi";
  if (pattern === GUID) return "expected a GUID";
  if (pattern === DNS_LABEL) return "expected a lowercase DNS label";
  return `must match ${pattern}`;
}

function joinPath(base: string, key: string): string {
  return base ? `${dotted(base)}.${key}` : key;
}

/** `/apps/aqs-app/replicas` → `apps.aqs-app.replicas`, the way the YAML reads. */
function dotted(instancePath: string): string {
  return instancePath.split("/").filter(Boolean).join(".");
}
