/**
 * The Google Cloud port: what core reads from (and, for `xcc link`, writes to) Compute Engine v1
 * and GKE v1. Implemented by src/adapters/gcp on @google-cloud/compute and @google-cloud/container
 * (against the real APIs or a lab's emulator); by plain objects in unit tests.
 *
 * Resources are typed as the subset of the REST shapes (field names as the APIs spell them) that
 * xcc reads. References between resources are URLs, as the APIs return them.
 */

export interface GceNetwork {
  readonly name: string
  readonly selfLink?: string
  readonly description?: string
  readonly autoCreateSubnetworks?: boolean
  readonly peerings?: ReadonlyArray<{
    readonly name: string
    /** URL of the peer network */
    readonly network: string
    readonly state?: string
    readonly exportCustomRoutes?: boolean
    readonly importCustomRoutes?: boolean
    readonly exportSubnetRoutesWithPublicIp?: boolean
    readonly importSubnetRoutesWithPublicIp?: boolean
  }>
}

export interface GceSubnetwork {
  readonly name: string
  readonly selfLink?: string
  /** URL */
  readonly region: string
  /** URL */
  readonly network: string
  readonly ipCidrRange: string
  readonly secondaryIpRanges?: ReadonlyArray<{readonly rangeName: string; readonly ipCidrRange: string}>
  readonly allowSubnetCidrRoutesOverlap?: boolean
  readonly description?: string
}

export interface GceFirewall {
  readonly name: string
  readonly network: string
  readonly direction?: string
  readonly priority?: number
  readonly sourceRanges?: readonly string[]
  readonly sourceTags?: readonly string[]
  readonly destinationRanges?: readonly string[]
  readonly targetTags?: readonly string[]
  readonly allowed?: ReadonlyArray<{readonly IPProtocol: string; readonly ports?: readonly string[]}>
  readonly denied?: ReadonlyArray<{readonly IPProtocol: string; readonly ports?: readonly string[]}>
  readonly disabled?: boolean
  readonly description?: string
}

export interface GceRoute {
  readonly name: string
  readonly network: string
  readonly destRange: string
  readonly priority?: number
  readonly tags?: readonly string[]
  readonly nextHopInstance?: string
  readonly nextHopIp?: string
  readonly nextHopIlb?: string
  readonly nextHopGateway?: string
  /** subnet routes and peering routes: not custom routes */
  readonly nextHopNetwork?: string
  readonly nextHopPeering?: string
  readonly description?: string
}

export interface GceNetworkInterface {
  readonly name?: string
  readonly network: string
  readonly subnetwork: string
  readonly networkIP: string
  readonly aliasIpRanges?: ReadonlyArray<{readonly ipCidrRange: string; readonly subnetworkRangeName?: string}>
}

export interface GceInstance {
  readonly name: string
  readonly selfLink?: string
  /** URL */
  readonly zone: string
  readonly tags?: {readonly items?: readonly string[]}
  readonly canIpForward?: boolean
  readonly networkInterfaces: readonly GceNetworkInterface[]
  readonly labels?: Readonly<Record<string, string>>
  readonly metadata?: {readonly items?: ReadonlyArray<{readonly key: string; readonly value?: string}>}
  readonly description?: string
}

export interface GceInstanceGroup {
  readonly name: string
  readonly selfLink?: string
  /** URL */
  readonly zone: string
  readonly network?: string
  /** instance URLs of its members (listInstances) */
  readonly instances: readonly string[]
  readonly namedPorts?: ReadonlyArray<{readonly name: string; readonly port: number}>
  readonly description?: string
}

export interface GceHealthCheckPort {
  readonly port?: number
  /** USE_FIXED_PORT (or absent, with a port), USE_NAMED_PORT, USE_SERVING_PORT */
  readonly portSpecification?: string
  readonly requestPath?: string
}

export interface GceHealthCheck {
  readonly name: string
  readonly selfLink?: string
  /** URL; absent for a global health check */
  readonly region?: string
  readonly type?: string
  readonly tcpHealthCheck?: GceHealthCheckPort
  readonly sslHealthCheck?: GceHealthCheckPort
  readonly httpHealthCheck?: GceHealthCheckPort
  readonly httpsHealthCheck?: GceHealthCheckPort
  readonly http2HealthCheck?: GceHealthCheckPort
  readonly grpcHealthCheck?: GceHealthCheckPort
  readonly description?: string
}

export interface GceBackendService {
  readonly name: string
  readonly selfLink?: string
  /** URL; absent for a global backend service */
  readonly region?: string
  readonly loadBalancingScheme?: string
  readonly protocol?: string
  /** instance group URLs */
  readonly backends?: ReadonlyArray<{readonly group: string}>
  /** health check URLs */
  readonly healthChecks?: readonly string[]
  readonly network?: string
  readonly description?: string
}

export interface GceForwardingRule {
  readonly name: string
  readonly selfLink?: string
  readonly region?: string
  readonly IPAddress?: string
  readonly IPProtocol?: string
  readonly ports?: readonly string[]
  readonly allPorts?: boolean
  readonly network?: string
  readonly subnetwork?: string
  readonly backendService?: string
  readonly loadBalancingScheme?: string
  readonly allowGlobalAccess?: boolean
  readonly sourceIpRanges?: readonly string[]
  readonly labels?: Readonly<Record<string, string>>
  readonly description?: string
}

export interface GkeNodePool {
  readonly name: string
  readonly instanceGroupUrls?: readonly string[]
}

export interface GkeCluster {
  readonly name: string
  /** zone or region */
  readonly location: string
  readonly network?: string
  readonly subnetwork?: string
  readonly clusterIpv4Cidr?: string
  readonly servicesIpv4Cidr?: string
  readonly endpoint?: string
  readonly ipAllocationPolicy?: {readonly useIpAliases?: boolean; readonly clusterSecondaryRangeName?: string; readonly servicesSecondaryRangeName?: string}
  readonly networkConfig?: {readonly defaultSnatStatus?: {readonly disabled?: boolean}; readonly datapathProvider?: string | number}
  readonly nodePools?: readonly GkeNodePool[]
  readonly masterAuth?: {readonly clusterCaCertificate?: string}
  readonly status?: string | number
  /** the private endpoint (`--endpoint internal`); older clusters name it here */
  readonly privateClusterConfig?: {readonly privateEndpoint?: string; readonly publicEndpoint?: string; readonly enablePrivateEndpoint?: boolean}
  readonly controlPlaneEndpointsConfig?: {
    readonly ipEndpointsConfig?: {readonly enabled?: boolean; readonly enablePublicEndpoint?: boolean; readonly privateEndpoint?: string; readonly publicEndpoint?: string}
    readonly dnsEndpointConfig?: {readonly endpoint?: string; readonly allowExternalTraffic?: boolean; readonly enableK8sTokensViaDns?: boolean; readonly enableK8sCertsViaDns?: boolean}
  }
}

/** Everything a snapshot reads from Compute Engine, in one value (read concurrently by the adapter). */
export interface ComputeInventory {
  readonly networks: readonly GceNetwork[]
  readonly subnetworks: readonly GceSubnetwork[]
  readonly firewalls: readonly GceFirewall[]
  readonly routes: readonly GceRoute[]
  readonly instances: readonly GceInstance[]
  readonly instanceGroups: readonly GceInstanceGroup[]
  readonly healthChecks: readonly GceHealthCheck[]
  readonly backendServices: readonly GceBackendService[]
  readonly forwardingRules: readonly GceForwardingRule[]
}

/**
 * Compute Engine for one project. Reads return every item (all pages, all scopes); a failure is an
 * XccError (403 names the permission, exit 3; an unreachable API exit 3 within the timeout).
 */
export interface ComputeApi {
  readonly project: string
  /** `regions`: only those (and the global resources); none = all */
  readInventory(options?: {readonly regions?: readonly string[]}): Promise<ComputeInventory>
  /** every forwarding rule of the project (all regions) */
  listForwardingRules(): Promise<GceForwardingRule[]>
}

export interface GkeApi {
  readonly project: string
  /** every cluster of the project (all locations) */
  listClusters(): Promise<GkeCluster[]>
}
