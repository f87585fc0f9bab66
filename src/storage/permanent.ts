/**
 * A failure that retrying does not heal: storage refused the identity (403), or Entra refused the token
 * exchange for a configuration reason (no matching federated credential, unknown application, unknown
 * tenant). Such a pod stops, as it would crash-loop on AKS; a transient failure is retried.
 */
export function isPermanentFailure(e: unknown): boolean {
  if ((e as { statusCode?: number }).statusCode === 403) return true;
  const message = e instanceof Error ? e.message : String(e);
  return /AADSTS(70021|700016|700211|90002):/.test(message);
}
