import { explainChain } from "../../identity/explain.js";
import type { ServiceAccountIdentity } from "../identity/workload-queue.js";

/**
 * The one line a load burst sent as the producer's workload identity ends with when storage refuses it:
 * how many messages went before the refusal, Azure's own error, and — from the same chain `identity explain
 * --send` walks — the link that is missing (the role, by name) and the `az` command that mends it.
 */
export async function refusedLoadLine(
  root: string,
  as: ServiceAccountIdentity & { name: string; cluster?: string; queue: string },
  r: { sent: number; asked: number; firstError: string },
): Promise<string> {
  const head = `${r.sent} of ${r.asked} message(s) sent before storage refused the producer's workload identity ${as.name} (${as.namespace}/${as.serviceAccount}): ${r.firstError}`;
  // The chain runs a real exchange by the token service's rules; if it cannot say more, Azure's error stands alone.
  const links = await explainChain(root, {
    namespace: as.namespace,
    serviceAccount: as.serviceAccount,
    resource: "queue",
    name: as.queue,
    send: true,
    identity: as.clientId,
    cluster: as.cluster,
  }).catch(() => []);
  const broken = links.find((l) => !l.ok);
  if (!broken) return `${head} (see \`akspilot identity explain ${as.namespace}/${as.serviceAccount} --resource queue --send\`)`;
  const what = broken.missingRole ? `missing role ${broken.missingRole} on queue ${as.queue}` : `${broken.link}: ${broken.detail}`;
  return `${head} — ${what}${broken.fix ? `; fix: ${broken.fix}` : ""}`;
}
