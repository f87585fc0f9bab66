import { Ledger } from "../../provisioning/local/ledger.js";

export interface RegistryImages {
  registry: string;
  /** `<repository>:<tag>` of every image imported into the registry. */
  images: Set<string>;
}

/** The registry `deploy --target local` recorded for a blueprint (by name prefix) and the images imported into it. */
export function recordedRegistry(root: string, prefix: string): RegistryImages | undefined {
  const all = Ledger.open(root).all();
  const reg = all.find(([, e]) => e.kind === "containerRegistry" && e.name.startsWith(prefix));
  if (!reg) return undefined;
  const registry = reg[1].name;
  const images = new Set(all.filter(([, e]) => e.kind === "registryImport" && String(e.props.registry ?? e.outputs.image ?? "").includes(registry)).map(([, e]) => e.name));
  return { registry, images };
}

/**
 * What the kubelet says when an image cannot be pulled from the cluster's registry: `ErrImagePull`, with
 * containerd's message naming the repository and tag (an image never imported is "not found").
 */
export function imagePullError(r: RegistryImages, repository: string, tag: string, source?: string): string | undefined {
  if (r.images.has(`${repository}:${tag}`)) return undefined;
  const ref = `${r.registry}.azurecr.io/${repository}:${tag}`;
  return `Failed to pull image "${ref}": rpc error: code = NotFound desc = failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": ${ref}: not found (repository "${repository}", tag "${tag}" was never imported into registry ${r.registry}: az acr import --name ${r.registry} --source ${source ?? "<source-image>"} --image ${repository}:${tag})`;
}
