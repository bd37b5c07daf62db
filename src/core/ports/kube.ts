/**
 * The Kubernetes port: what core needs from a cluster's API (implemented by src/adapters/kube
 * on @kubernetes/client-node; by plain objects in unit tests). Nothing here does I/O.
 *
 * Kubernetes objects are typed as the subset of the API shapes xcc reads and writes.
 */

export interface KubeMeta {
  readonly name: string
  readonly namespace?: string
  readonly labels?: Readonly<Record<string, string>>
  readonly annotations?: Readonly<Record<string, string>>
  readonly uid?: string
  readonly creationTimestamp?: string
  readonly deletionTimestamp?: string
  /** optimistic concurrency: a replace with a stale resourceVersion fails (409) */
  readonly resourceVersion?: string
  readonly generation?: number
  readonly ownerReferences?: ReadonlyArray<{readonly kind: string; readonly name: string; readonly uid?: string; readonly controller?: boolean}>
}

export interface KubeNode {
  readonly metadata: KubeMeta
  readonly spec?: {
    readonly podCIDR?: string
    readonly podCIDRs?: readonly string[]
    readonly providerID?: string
    readonly unschedulable?: boolean
    readonly taints?: ReadonlyArray<{readonly key: string; readonly value?: string; readonly effect: string}>
  }
  readonly status?: {
    readonly addresses?: ReadonlyArray<{readonly type: string; readonly address: string}>
    readonly conditions?: ReadonlyArray<{readonly type: string; readonly status: string}>
  }
}

export interface KubeContainer {
  readonly name: string
  readonly image: string
  readonly command?: readonly string[]
  readonly args?: readonly string[]
  readonly env?: ReadonlyArray<{readonly name: string; readonly value?: string; readonly valueFrom?: {readonly fieldRef: {readonly fieldPath: string}}}>
  readonly securityContext?: {
    readonly capabilities?: {readonly add?: readonly string[]; readonly drop?: readonly string[]}
    readonly privileged?: boolean
    readonly runAsUser?: number
    readonly runAsNonRoot?: boolean
    readonly allowPrivilegeEscalation?: boolean
  }
  readonly resources?: {readonly limits?: Readonly<Record<string, string>>; readonly requests?: Readonly<Record<string, string>>}
  readonly terminationMessagePolicy?: 'File' | 'FallbackToLogsOnError'
  /** ephemeral containers only: the container whose namespaces it joins */
  readonly targetContainerName?: string
}

export interface KubeContainerState {
  readonly waiting?: {readonly reason?: string; readonly message?: string}
  readonly running?: {readonly startedAt?: string}
  readonly terminated?: {readonly exitCode: number; readonly reason?: string; readonly message?: string; readonly signal?: number}
}

export interface KubeContainerStatus {
  readonly name: string
  readonly state?: KubeContainerState
  readonly ready?: boolean
  readonly restartCount?: number
}

/** a status condition (PodScheduled, Ready; a Deployment's Available, Progressing) */
export interface KubeCondition {
  readonly type: string
  readonly status: 'True' | 'False' | 'Unknown'
  readonly reason?: string
  readonly message?: string
}

export interface KubePod {
  readonly apiVersion?: 'v1'
  readonly kind?: 'Pod'
  readonly metadata: KubeMeta
  readonly spec: KubePodSpec
  readonly status?: {
    readonly phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown'
    readonly reason?: string
    readonly message?: string
    readonly podIP?: string
    readonly hostIP?: string
    readonly conditions?: readonly KubeCondition[]
    readonly containerStatuses?: readonly KubeContainerStatus[]
    readonly ephemeralContainerStatuses?: readonly KubeContainerStatus[]
  }
}

export interface KubePodSpec {
  readonly nodeName?: string
  readonly hostNetwork?: boolean
  readonly restartPolicy?: 'Always' | 'OnFailure' | 'Never'
  readonly activeDeadlineSeconds?: number
  readonly terminationGracePeriodSeconds?: number
  readonly automountServiceAccountToken?: boolean
  readonly enableServiceLinks?: boolean
  readonly tolerations?: ReadonlyArray<{readonly operator?: string; readonly key?: string; readonly effect?: string}>
  readonly containers: readonly KubeContainer[]
  readonly ephemeralContainers?: readonly KubeContainer[]
  readonly priorityClassName?: string
}

export interface KubeServicePort {
  readonly name?: string
  readonly port: number
  readonly targetPort?: number | string
  readonly nodePort?: number
  readonly protocol?: 'TCP' | 'UDP' | 'SCTP'
}

export interface KubeService {
  readonly metadata: KubeMeta
  readonly spec?: {
    readonly type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName'
    readonly clusterIP?: string
    readonly ports?: readonly KubeServicePort[]
    readonly selector?: Readonly<Record<string, string>>
    readonly externalTrafficPolicy?: 'Cluster' | 'Local'
    readonly loadBalancerIP?: string
  }
  readonly status?: {readonly loadBalancer?: {readonly ingress?: ReadonlyArray<{readonly ip?: string; readonly hostname?: string}>}}
}

export interface KubeEndpoints {
  readonly metadata: KubeMeta
  readonly subsets?: ReadonlyArray<{
    readonly addresses?: ReadonlyArray<{readonly ip: string; readonly nodeName?: string; readonly targetRef?: {readonly kind?: string; readonly name?: string; readonly namespace?: string}}>
    readonly notReadyAddresses?: ReadonlyArray<{readonly ip: string; readonly nodeName?: string}>
    readonly ports?: ReadonlyArray<{readonly name?: string; readonly port: number; readonly protocol?: string}>
  }>
}

export interface KubeConfigMap {
  readonly apiVersion?: 'v1'
  readonly kind?: 'ConfigMap'
  readonly metadata: KubeMeta
  readonly data?: Readonly<Record<string, string>>
}

export interface KubeDaemonSet {
  readonly apiVersion?: 'apps/v1'
  readonly kind?: 'DaemonSet'
  readonly metadata: KubeMeta
  readonly spec: {
    readonly selector: {readonly matchLabels: Readonly<Record<string, string>>}
    readonly template: {readonly metadata: {readonly labels: Readonly<Record<string, string>>; readonly annotations?: Readonly<Record<string, string>>}; readonly spec: KubePodSpec}
    readonly updateStrategy?: {readonly type: 'RollingUpdate' | 'OnDelete'; readonly rollingUpdate?: {readonly maxUnavailable?: number | string; readonly maxSurge?: number | string}}
  }
  readonly status?: {
    readonly desiredNumberScheduled?: number
    readonly currentNumberScheduled?: number
    readonly updatedNumberScheduled?: number
    readonly numberReady?: number
    readonly numberAvailable?: number
    readonly observedGeneration?: number
  }
}

/** a Deployment, as far as xcc writes one (the `xcc dns link` responder) */
export interface KubeDeployment {
  readonly apiVersion?: 'apps/v1'
  readonly kind?: 'Deployment'
  readonly metadata: KubeMeta
  readonly spec: {
    readonly replicas?: number
    readonly selector: {readonly matchLabels: Readonly<Record<string, string>>}
    readonly template: {readonly metadata: {readonly labels: Readonly<Record<string, string>>; readonly annotations?: Readonly<Record<string, string>>}; readonly spec: Readonly<Record<string, unknown>>}
  }
  readonly status?: {
    readonly replicas?: number
    readonly readyReplicas?: number
    readonly updatedReplicas?: number
    readonly availableReplicas?: number
    readonly observedGeneration?: number
    readonly conditions?: readonly KubeCondition[]
  }
}

export interface KubeNamespace {
  readonly metadata: KubeMeta
}

/** One question for SelfSubjectAccessReview ("can I <verb> <resource>[/<subresource>] in <namespace>?"). */
export interface AccessQuestion {
  readonly verb: string
  readonly resource: string
  readonly subresource?: string
  readonly group?: string
  /** undefined = cluster-scoped or every namespace */
  readonly namespace?: string
  /** one object by name (a rule with resourceNames) */
  readonly name?: string
}

export interface AccessAnswer {
  readonly allowed: boolean
  readonly reason?: string
}

/**
 * One cluster reached through one kube context. Reads return `undefined` for a missing object;
 * every other API failure is thrown as an XccError (exit 3: unreachable API, missing
 * permission) naming the context and the request — never with a token or key in it. A failed
 * request is an ApiError (core/errors.ts) that says what became of it: answered with a status,
 * sent without an answer (a write that may have been carried out), or never sent.
 */
export interface KubeCluster {
  readonly context: string
  /** the API server URL, for messages */
  readonly server: string
  listNodes(): Promise<KubeNode[]>
  getNamespace(name: string): Promise<KubeNamespace | undefined>
  getPod(namespace: string, name: string): Promise<KubePod | undefined>
  /** namespace undefined = every namespace */
  listPods(namespace: string | undefined, labelSelector?: string): Promise<KubePod[]>
  createPod(namespace: string, pod: KubePod): Promise<KubePod>
  /** immediate deletion (grace period 0); a pod that is already gone is not an error */
  deletePod(namespace: string, name: string): Promise<void>
  /** the container's log so far ('' when it has none yet) */
  readPodLog(namespace: string, name: string, container: string): Promise<string>
  /** adds an ephemeral container to a running pod (the pods/ephemeralcontainers subresource) */
  addEphemeralContainer(namespace: string, pod: string, container: KubeContainer): Promise<void>
  getService(namespace: string, name: string): Promise<KubeService | undefined>
  listServices(): Promise<KubeService[]>
  /** a Service that already exists is a 409 ApiError */
  createService(namespace: string, service: KubeService): Promise<KubeService>
  /** a Service that is already gone is not an error */
  deleteService(namespace: string, name: string): Promise<void>
  /**
   * A JSON merge patch (RFC 7386) of the Service's annotations: a string sets one, null removes
   * it. A Service that is not there is a 404 ApiError.
   */
  annotateService(namespace: string, name: string, annotations: Readonly<Record<string, string | null>>): Promise<KubeService>
  getEndpoints(namespace: string, name: string): Promise<KubeEndpoints | undefined>
  getConfigMap(namespace: string, name: string): Promise<KubeConfigMap | undefined>
  createConfigMap(namespace: string, configMap: KubeConfigMap): Promise<KubeConfigMap>
  /** replaces the whole object; with metadata.resourceVersion set, a concurrent change fails (exit 3) */
  replaceConfigMap(namespace: string, configMap: KubeConfigMap): Promise<KubeConfigMap>
  /** a ConfigMap that is already gone is not an error */
  deleteConfigMap(namespace: string, name: string): Promise<void>
  getDaemonSet(namespace: string, name: string): Promise<KubeDaemonSet | undefined>
  listDaemonSets(namespace: string): Promise<KubeDaemonSet[]>
  createDaemonSet(namespace: string, daemonSet: KubeDaemonSet): Promise<KubeDaemonSet>
  /** replaces the whole object; with metadata.resourceVersion set, a concurrent change fails (exit 3) */
  replaceDaemonSet(namespace: string, daemonSet: KubeDaemonSet): Promise<KubeDaemonSet>
  /** background deletion (its pods are garbage-collected); a DaemonSet already gone is not an error */
  deleteDaemonSet(namespace: string, name: string): Promise<void>
  getDeployment(namespace: string, name: string): Promise<KubeDeployment | undefined>
  createDeployment(namespace: string, deployment: KubeDeployment): Promise<KubeDeployment>
  /** replaces the whole object; with metadata.resourceVersion set, a concurrent change fails (exit 3) */
  replaceDeployment(namespace: string, deployment: KubeDeployment): Promise<KubeDeployment>
  /** background deletion (its pods are garbage-collected); a Deployment already gone is not an error */
  deleteDeployment(namespace: string, name: string): Promise<void>
  /** SelfSubjectAccessReview for each question, in order */
  canI(questions: readonly AccessQuestion[]): Promise<AccessAnswer[]>
}

/** The kube contexts the user's kubeconfig offers. */
export interface KubeContexts {
  readonly contexts: readonly string[]
  readonly current?: string
  /** throws an XccError (exit 2) naming the kubeconfig for an unknown context */
  open(context: string): KubeCluster
}
