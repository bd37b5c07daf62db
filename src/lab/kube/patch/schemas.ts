/**
 * Strategic merge patch metadata of the built-in kinds the lab serves (the `patchStrategy` and
 * `patchMergeKey` tags of the Kubernetes API types). Kinds not listed patch like a JSON merge
 * patch with lists replaced.
 */
import type {PatchSchema} from './strategic.js'

const objectMeta: PatchSchema = {
  ownerReferences: {mergeKey: 'uid'},
  finalizers: {mergeScalars: true},
}

const container: PatchSchema = {
  ports: {mergeKey: 'containerPort'},
  env: {mergeKey: 'name'},
  volumeMounts: {mergeKey: 'mountPath'},
  volumeDevices: {mergeKey: 'devicePath'},
  resizePolicy: {mergeKey: 'resourceName'},
}

const podSpec: PatchSchema = {
  containers: {mergeKey: 'name', schema: container},
  initContainers: {mergeKey: 'name', schema: container},
  ephemeralContainers: {mergeKey: 'name', schema: container},
  volumes: {mergeKey: 'name'},
  imagePullSecrets: {mergeKey: 'name'},
  hostAliases: {mergeKey: 'ip'},
  topologySpreadConstraints: {mergeKey: 'topologyKey'},
  resourceClaims: {mergeKey: 'name'},
  schedulingGates: {mergeKey: 'name'},
  // tolerations have no strategy: a patch replaces the whole list
}

const conditions = {mergeKey: 'type'}

const podStatus: PatchSchema = {
  conditions,
  podIPs: {mergeKey: 'ip'},
  hostIPs: {mergeKey: 'ip'},
}

const podTemplate: PatchSchema = {
  metadata: {schema: objectMeta},
  spec: {schema: podSpec},
}

const workloadStatus: PatchSchema = {conditions}

const KINDS: Readonly<Record<string, PatchSchema>> = {
  Pod: {metadata: {schema: objectMeta}, spec: {schema: podSpec}, status: {schema: podStatus}},
  PodTemplate: {metadata: {schema: objectMeta}, template: {schema: podTemplate}},
  DaemonSet: {metadata: {schema: objectMeta}, spec: {schema: {template: {schema: podTemplate}}}, status: {schema: workloadStatus}},
  Deployment: {metadata: {schema: objectMeta}, spec: {schema: {template: {schema: podTemplate}}}, status: {schema: workloadStatus}},
  ReplicaSet: {metadata: {schema: objectMeta}, spec: {schema: {template: {schema: podTemplate}}}, status: {schema: workloadStatus}},
  Service: {metadata: {schema: objectMeta}, spec: {schema: {ports: {mergeKey: 'port'}}}, status: {schema: {conditions}}},
  Node: {
    metadata: {schema: objectMeta},
    status: {schema: {addresses: {mergeKey: 'type'}, conditions, images: {}}},
  },
  Namespace: {metadata: {schema: objectMeta}, status: {schema: {conditions}}},
  ServiceAccount: {metadata: {schema: objectMeta}, secrets: {mergeKey: 'name'}},
}

const DEFAULT: PatchSchema = {metadata: {schema: objectMeta}}

export function strategicSchemaFor(kind: string): PatchSchema {
  return KINDS[kind] ?? DEFAULT
}
