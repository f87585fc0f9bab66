import { PersistentVolume, PersistentVolumeClaim } from "kubernetes-models/v1";
import type { AirflowSpec } from "../blueprints/types.js";
import { labelsFor, type BuildContext } from "./context.js";

/** A Blob container mounted with BlobFuse (the blob CSI driver), shared by every Airflow pod for logs. */
export function blobLogsVolume(ctx: BuildContext, af: AirflowSpec): [PersistentVolume, PersistentVolumeClaim] {
  const v = ctx.s.config.values.airflow ?? {};
  const logs = af.logs;
  const pv = new PersistentVolume({
    metadata: {
      name: logs.volume,
      labels: labelsFor(ctx),
      annotations: { "pv.kubernetes.io/provisioned-by": "blob.csi.azure.com" },
    },
    spec: {
      capacity: { storage: logs.size },
      accessModes: ["ReadWriteMany"],
      persistentVolumeReclaimPolicy: "Retain",
      storageClassName: logs.storageClass,
      mountOptions: ["-o allow_other", `--file-cache-timeout-in-seconds=${logs.fileCacheTimeoutSeconds}`],
      csi: {
        driver: "blob.csi.azure.com",
        volumeHandle: logs.volumeHandle,
        volumeAttributes: {
          resourceGroup: ctx.s.need("airflow.logsResourceGroup", v.logsResourceGroup),
          storageAccount: ctx.s.need("airflow.logsStorageAccountName", v.logsStorageAccountName),
          containerName: logs.container,
        },
        nodeStageSecretRef: { name: af.storageSecret, namespace: ctx.bp.namespace },
      },
    },
  });
  const pvc = new PersistentVolumeClaim({
    metadata: { name: logs.claim, namespace: ctx.bp.namespace, labels: labelsFor(ctx) },
    spec: {
      storageClassName: logs.storageClass,
      volumeName: logs.volume,
      accessModes: ["ReadWriteMany"],
      resources: { requests: { storage: logs.size } },
    },
  });
  return [pv, pvc];
}
