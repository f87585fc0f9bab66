import { parseUserYamlDocuments } from "../util/user-file.js";
import { UserError } from "../errors.js";

/**
 * How long things take on AKS, as data: the simulator and the local runtime read the same profile
 * (`--timings file.yaml` overrides any field). Seconds of cluster time. Sources in docs/simulator.md
 * ("Timings"); a field without an upstream number says so there.
 */
export interface TimingProfile {
  /** Karpenter launches a VM → the node is Ready (VM create, boot, kubelet registration, initialization). */
  nodeBootSeconds: number;
  /** The first pod of the app on a fresh node waits for its image; later pods on that node do not. */
  imagePullSeconds: number;
  /** Container start → Ready (process start, the app's readiness). */
  podStartSeconds: number;
  /** SIGTERM → the pod is gone (the app finishes or releases its work; terminationGracePeriodSeconds caps it). */
  podTerminationSeconds: number;
  /** Pods drained → the VM is deleted and stops costing (node-seconds run until then). */
  vmDeleteSeconds: number;
  /** kubelet silent → node NotReady (--node-monitor-grace-period); undefined = the cluster version's (40 s before 1.32, 50 s since). */
  nodeMonitorGraceSeconds?: number;
}

/**
 * The defaults, each with its source; where no upstream figure exists the value is an estimate and says why
 * (the same table is in docs/simulator.md, "Timings").
 */
export const DEFAULT_TIMINGS: TimingProfile = {
  // ESTIMATE: neither AKS nor Karpenter publishes a launch-to-Ready figure ("there's a lot of variation among
  // images and instance types", Karpenter maintainers, aws/karpenter-provider-aws#6165, who see 30–40 s on
  // AWS); users report 40–120 s (#3102, #6128). No Azure measurement found; 60 s sits in that range.
  nodeBootSeconds: 60,
  // ESTIMATE: depends on image size and registry; no upstream figure. The seed's consumer image is tens of MB
  // pulled from a registry in the same region. Paid once per node (the kubelet caches the image).
  imagePullSeconds: 5,
  // MEASURED: the seed consumer's spawn → first queue read is 1.2–2.2 s in local runs (maxPodFirstReceiveMs).
  podStartSeconds: 2,
  // ESTIMATE, bounded by a source: the consumer stops receiving on SIGTERM and exits once its in-flight
  // messages are done (one message's work plus a storage call: about a second or two). Kubernetes kills it at
  // terminationGracePeriodSeconds at the latest (30 s by default, PodSpec API reference; the seed sets
  // visibility timeout + 30 s), which is what a pod that ignored SIGTERM would take.
  podTerminationSeconds: 2,
  // ESTIMATE: no Azure figure. Karpenter keeps the NodeClaim until the cloud provider reports the instance
  // gone (kubernetes-sigs/karpenter#947, #1195; "seconds to some minutes" on AWS, #2467); on Azure the VM,
  // its NIC and disk are deleted. It costs until then.
  vmDeleteSeconds: 30,
  // nodeMonitorGraceSeconds: SOURCED — kube-controller-manager --node-monitor-grace-period, 40 s before
  // Kubernetes 1.32 and 50 s since (kubernetes/kubernetes#126287); chosen by the cluster version when unset.
};

const FIELDS = ["nodeBootSeconds", "imagePullSeconds", "podStartSeconds", "podTerminationSeconds", "vmDeleteSeconds", "nodeMonitorGraceSeconds"] as const;

/** Validates a profile object (a parsed YAML mapping); errors name the file and the field. */
export function timingProfileFrom(doc: unknown, source: string): TimingProfile {
  const bad = (what: string, hint = `fields: ${FIELDS.join(", ")} (seconds)`) => new UserError(`${source}: ${what}`, hint);
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw bad("must be a YAML mapping of timing fields");
  const out: TimingProfile = { ...DEFAULT_TIMINGS };
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    if (!(FIELDS as readonly string[]).includes(k)) throw bad(`unknown field ${JSON.stringify(k)}`);
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 86400)
      throw bad(`${k} must be a number of seconds from 0 to 86400, got ${JSON.stringify(v)}`, "e.g. nodeBootSeconds: 90");
    if (k === "nodeMonitorGraceSeconds" && v < 1) throw bad("nodeMonitorGraceSeconds must be at least 1");
    (out as unknown as Record<string, number>)[k] = v;
  }
  return out;
}

/** Parses a timing profile file's text. */
export function parseTimingsYaml(text: string, source: string): TimingProfile {
  const docs = parseUserYamlDocuments(text, source);
  if (docs.length !== 1) throw new UserError(`${source}: expected one YAML document with timing fields, found ${docs.length}`, `fields: ${FIELDS.join(", ")}`);
  return timingProfileFrom(docs[0], source);
}
