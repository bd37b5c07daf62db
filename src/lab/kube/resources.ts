/**
 * The resource types the emulated API server serves: everything discovery advertises and the
 * generic CRUD handlers accept comes from this registry.
 */

export interface Subresource {
  readonly kind: string
  readonly verbs: readonly string[]
  /** group/version of the subresource's kind when it differs from the parent's */
  readonly group?: string
  readonly version?: string
}

export interface ResourceType {
  readonly group: string
  readonly version: string
  /** plural, lower case: `pods` */
  readonly resource: string
  readonly singular: string
  readonly kind: string
  readonly namespaced: boolean
  readonly shortNames: readonly string[]
  readonly verbs: readonly string[]
  readonly categories: readonly string[]
  readonly subresources: Readonly<Record<string, Subresource>>
  /** the main resource's writes keep `status`; the status subresource's writes change only `status` */
  readonly hasStatus: boolean
  /** `metadata.generation` counts changes of `spec` */
  readonly tracksGeneration: boolean
  /** a virtual resource: only `create`, answered by a handler, nothing stored */
  readonly virtual: boolean
}

const CRUD = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] as const
const STATUS: Subresource = {kind: '', verbs: ['get', 'patch', 'update']}

interface Spec {
  group?: string
  version?: string
  resource: string
  kind: string
  namespaced?: boolean
  shortNames?: string[]
  verbs?: readonly string[]
  categories?: string[]
  subresources?: Record<string, Subresource>
  status?: boolean
  generation?: boolean
  virtual?: boolean
}

function define(spec: Spec): ResourceType {
  const subresources: Record<string, Subresource> = {...(spec.subresources ?? {})}
  if (spec.status) subresources.status = {...STATUS, kind: spec.kind}
  return {
    group: spec.group ?? '',
    version: spec.version ?? 'v1',
    resource: spec.resource,
    singular: spec.kind.toLowerCase(),
    kind: spec.kind,
    namespaced: spec.namespaced ?? true,
    shortNames: spec.shortNames ?? [],
    verbs: spec.verbs ?? CRUD,
    categories: spec.categories ?? [],
    subresources,
    hasStatus: spec.status ?? false,
    tracksGeneration: spec.generation ?? false,
    virtual: spec.virtual ?? false,
  }
}

export const BUILTIN_RESOURCES: readonly ResourceType[] = [
  define({resource: 'namespaces', kind: 'Namespace', namespaced: false, shortNames: ['ns'], status: true, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']}),
  define({resource: 'nodes', kind: 'Node', namespaced: false, shortNames: ['no'], status: true}),
  define({
    resource: 'pods',
    kind: 'Pod',
    shortNames: ['po'],
    categories: ['all'],
    status: true,
    subresources: {
      log: {kind: 'Pod', verbs: ['get']},
      binding: {kind: 'Binding', verbs: ['create']},
      ephemeralcontainers: {kind: 'Pod', verbs: ['get', 'patch', 'update']},
    },
  }),
  define({resource: 'services', kind: 'Service', shortNames: ['svc'], categories: ['all'], status: true, verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']}),
  define({resource: 'endpoints', kind: 'Endpoints', shortNames: ['ep']}),
  define({resource: 'configmaps', kind: 'ConfigMap', shortNames: ['cm']}),
  define({resource: 'secrets', kind: 'Secret'}),
  define({
    resource: 'serviceaccounts',
    kind: 'ServiceAccount',
    shortNames: ['sa'],
    subresources: {token: {kind: 'TokenRequest', group: 'authentication.k8s.io', version: 'v1', verbs: ['create']}},
  }),
  define({resource: 'events', kind: 'Event', shortNames: ['ev']}),
  define({resource: 'resourcequotas', kind: 'ResourceQuota', shortNames: ['quota'], status: true}),
  define({resource: 'limitranges', kind: 'LimitRange', shortNames: ['limits']}),
  define({group: 'apps', resource: 'daemonsets', kind: 'DaemonSet', shortNames: ['ds'], categories: ['all'], status: true, generation: true}),
  define({group: 'apps', resource: 'deployments', kind: 'Deployment', shortNames: ['deploy'], categories: ['all'], status: true, generation: true}),
  define({group: 'coordination.k8s.io', resource: 'leases', kind: 'Lease'}),
  define({group: 'discovery.k8s.io', resource: 'endpointslices', kind: 'EndpointSlice'}),
  define({group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false}),
  define({group: 'rbac.authorization.k8s.io', resource: 'clusterroles', kind: 'ClusterRole', namespaced: false}),
  define({group: 'rbac.authorization.k8s.io', resource: 'rolebindings', kind: 'RoleBinding'}),
  define({group: 'rbac.authorization.k8s.io', resource: 'roles', kind: 'Role'}),
  define({group: 'authorization.k8s.io', resource: 'localsubjectaccessreviews', kind: 'LocalSubjectAccessReview', verbs: ['create'], virtual: true}),
  define({group: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews', kind: 'SelfSubjectAccessReview', namespaced: false, verbs: ['create'], virtual: true}),
  define({group: 'authorization.k8s.io', resource: 'selfsubjectrulesreviews', kind: 'SelfSubjectRulesReview', namespaced: false, verbs: ['create'], virtual: true}),
  define({group: 'authorization.k8s.io', resource: 'subjectaccessreviews', kind: 'SubjectAccessReview', namespaced: false, verbs: ['create'], virtual: true}),
  define({group: 'authentication.k8s.io', resource: 'selfsubjectreviews', kind: 'SelfSubjectReview', namespaced: false, verbs: ['create'], virtual: true}),
]

export function apiVersionOf(type: {group: string; version: string}): string {
  return type.group ? `${type.group}/${type.version}` : type.version
}

export class ResourceRegistry {
  private readonly types: ResourceType[]
  private readonly byPath = new Map<string, ResourceType>()
  private readonly byKind = new Map<string, ResourceType>()

  constructor(types: readonly ResourceType[] = BUILTIN_RESOURCES) {
    this.types = [...types]
    for (const type of types) {
      this.byPath.set(`${type.group}/${type.version}/${type.resource}`, type)
      this.byKind.set(`${apiVersionOf(type)}/${type.kind}`, type)
    }
  }

  all(): readonly ResourceType[] {
    return this.types
  }

  find(group: string, version: string, resource: string): ResourceType | undefined {
    return this.byPath.get(`${group}/${version}/${resource}`)
  }

  forKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.byKind.get(`${apiVersion}/${kind}`)
  }

  /** The type by its plural name in the core or a named group, at the group's one served version. */
  get(resource: string, group = ''): ResourceType {
    const type = this.types.find((t) => t.resource === resource && t.group === group)
    if (!type) throw new Error(`resource ${resource}${group ? `.${group}` : ''} is not registered`)
    return type
  }

  /** Groups and their versions, core ('') first, in registration order. */
  groups(): Array<{group: string; versions: string[]}> {
    const groups: Array<{group: string; versions: string[]}> = []
    for (const type of this.types) {
      let entry = groups.find((g) => g.group === type.group)
      if (!entry) groups.push((entry = {group: type.group, versions: []}))
      if (!entry.versions.includes(type.version)) entry.versions.push(type.version)
    }
    return groups
  }

  inGroupVersion(group: string, version: string): ResourceType[] {
    return this.types.filter((t) => t.group === group && t.version === version)
  }
}
