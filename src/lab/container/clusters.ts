/**
 * The lab's GKE clusters as GKE v1 shows them (gcp-api-emulation.md §4, gcp-network-semantics.md
 * §8.2): `endpoint` is the address of the cluster's emulated Kubernetes API (`127.0.0.1:PORT`,
 * which gcloud's `get-credentials` turns into `https://127.0.0.1:PORT`) and
 * `masterAuth.clusterCaCertificate` its CA; the private endpoint (`privateClusterConfig.privateEndpoint`,
 * what `get-credentials --internal-ip` uses) is the same API on a second loopback address; the
 * DNS endpoint (`controlPlaneEndpointsConfig.dnsEndpointConfig.endpoint`) is named as GKE names
 * it, `gke-<hash>-<project>.<region>.gke.goog`, and is in the API's certificate, but nothing
 * resolves it in the lab. Then network, subnet, ranges, the VPC-native or routes mode,
 * default SNAT, and the node pools (one per node pool group name, with their groups' URLs).
 */
import {createHash} from 'node:crypto'

import {isZone, regionOfZone} from '../../core/topology/issues.js'
import {nodePoolGroups, shortHash} from '../../core/topology/node-pools.js'
import type {ClusterSpec, Topology} from '../../core/topology/schema.js'
import {COMPUTE_BASE} from '../cloud/refs.js'

export const GKE_VERSION = '1.32.0-gke.1000'
export const CONTAINER_BASE = 'https://container.googleapis.com/v1/'

/** the loopback address the clusters' API servers also listen on, as their private endpoint */
export const PRIVATE_ENDPOINT_HOST = '127.0.0.2'

export interface ClusterEndpoint {
  /** `127.0.0.1:PORT` */
  readonly endpoint: string
  /** `127.0.0.2:PORT` (the same API) */
  readonly privateEndpoint?: string
  /** PEM */
  readonly caCert: string
}

export interface ClusterView {
  readonly project: string
  readonly topology: Topology
  readonly endpoints: ReadonlyMap<string, ClusterEndpoint>
  readonly createTime: string
}

function zonesOf(c: ClusterSpec): string[] {
  const zones = new Set<string>()
  for (const n of c.nodes) zones.add(n.zone ?? c.location)
  return [...zones].sort()
}

function nodePoolsOf(view: ClusterView, c: ClusterSpec): Array<Record<string, unknown>> {
  const groups = nodePoolGroups(view.topology).filter((g) => g.cluster === c.name)
  const pools = [...new Set(groups.map((g) => g.pool))]
  return pools.map((pool) => {
    const own = groups.filter((g) => g.pool === pool)
    const count = own.reduce((sum, g) => sum + g.nodes.length, 0)
    return {
      name: pool, config: {machineType: 'e2-medium', diskSizeGb: 100, imageType: 'COS_CONTAINERD', diskType: 'pd-balanced'},
      initialNodeCount: count, locations: [...new Set(own.map((g) => g.zone))].sort(),
      selfLink: `${CONTAINER_BASE}projects/${view.project}/${isZone(c.location) ? 'zones' : 'locations'}/${c.location}/clusters/${c.name}/nodePools/${pool}`,
      version: GKE_VERSION, status: 'RUNNING',
      instanceGroupUrls: own.map((g) => `${COMPUTE_BASE}projects/${view.project}/zones/${g.zone}/instanceGroupManagers/${g.name}`),
      networkConfig: {podIpv4CidrBlock: c.clusterIpv4Cidr, ...(c.mode === 'VPC_NATIVE' ? {podRange: secondaryRangeName(view.topology, c, c.clusterIpv4Cidr)} : {})},
      podIpv4CidrSize: 24, management: {autoUpgrade: true, autoRepair: true}, maxPodsConstraint: {maxPodsPerNode: '110'},
    }
  })
}

function secondaryRangeName(t: Topology, c: ClusterSpec, range: string): string | undefined {
  const subnet = t.networks.find((n) => n.name === c.network)?.subnets.find((s) => s.name === c.subnetwork)
  return subnet?.secondaryIpRanges.find((r) => r.ipCidrRange === range)?.rangeName
}

function regionOf(c: ClusterSpec): string {
  return isZone(c.location) ? regionOfZone(c.location) : c.location
}

/** the DNS endpoint's name, as GKE forms it (`gke-<hash>-<project>.<region>.gke.goog`); it does not resolve in the lab */
export function dnsEndpointName(project: string, c: Pick<ClusterSpec, 'name' | 'location'>): string {
  const hash = createHash('sha256').update(`${project}/${c.location}/${c.name}`).digest('hex').slice(0, 16)
  return `gke-${hash}-${project}.${isZone(c.location) ? regionOfZone(c.location) : c.location}.gke.goog`
}

/** the issuer of a cluster's ServiceAccount tokens, as GKE names it */
export function tokenIssuer(project: string, c: Pick<ClusterSpec, 'name' | 'location'>): string {
  return `${CONTAINER_BASE}projects/${project}/locations/${c.location}/clusters/${c.name}`
}

function endpointsConfig(view: ClusterView, c: ClusterSpec, endpoint: ClusterEndpoint): Record<string, unknown> {
  const port = /:(\d+)$/.exec(endpoint.endpoint)?.[1]
  const dns = `${dnsEndpointName(view.project, c)}${port ? `:${port}` : ''}`
  const privateEndpoint = endpoint.privateEndpoint ?? endpoint.endpoint
  return {
    privateClusterConfig: {privateEndpoint, publicEndpoint: endpoint.endpoint},
    controlPlaneEndpointsConfig: {
      dnsEndpointConfig: {endpoint: dns, allowExternalTraffic: true, enableK8sTokensViaDns: true, enableK8sCertsViaDns: true},
      ipEndpointsConfig: {enabled: true, enablePublicEndpoint: true, globalAccess: true, publicEndpoint: endpoint.endpoint, privateEndpoint},
    },
  }
}

/**
 * A cluster's etag: a hash of all it holds (nodes' iptables dumps included, megabytes on a large
 * lab), made once per cluster of a committed topology, which is never changed in place (a write
 * commits a new one).
 */
const etags = new WeakMap<ClusterSpec, string>()

function etagOf(c: ClusterSpec): string {
  let etag = etags.get(c)
  if (etag === undefined) etags.set(c, (etag = shortHash(JSON.stringify(c))))
  return etag
}

export function clusterView(view: ClusterView, c: ClusterSpec): Record<string, unknown> {
  const p = view.project
  const endpoint = view.endpoints.get(c.name)
  const pools = nodePoolsOf(view, c)
  const podRange = secondaryRangeName(view.topology, c, c.clusterIpv4Cidr)
  const servicesRange = secondaryRangeName(view.topology, c, c.servicesIpv4Cidr)
  return {
    name: c.name, nodeConfig: {machineType: 'e2-medium', diskSizeGb: 100, imageType: 'COS_CONTAINERD'},
    masterAuth: endpoint ? {clusterCaCertificate: Buffer.from(endpoint.caCert).toString('base64')} : {},
    loggingService: 'none', monitoringService: 'none',
    network: c.network, subnetwork: c.subnetwork, clusterIpv4Cidr: c.clusterIpv4Cidr, servicesIpv4Cidr: c.servicesIpv4Cidr,
    nodePools: pools, locations: zonesOf(c),
    selfLink: `${CONTAINER_BASE}projects/${p}/${isZone(c.location) ? 'zones' : 'locations'}/${c.location}/clusters/${c.name}`,
    zone: c.location, ...(endpoint ? {endpoint: endpoint.endpoint} : {}),
    initialClusterVersion: GKE_VERSION, currentMasterVersion: GKE_VERSION, currentNodeVersion: GKE_VERSION, createTime: view.createTime,
    status: 'RUNNING', nodeIpv4CidrSize: 24,
    instanceGroupUrls: pools.flatMap((pool) => pool.instanceGroupUrls as string[]), currentNodeCount: c.nodes.length, location: c.location,
    networkConfig: {
      network: `projects/${p}/global/networks/${c.network}`, subnetwork: `projects/${p}/regions/${regionOf(c)}/subnetworks/${c.subnetwork}`,
      defaultSnatStatus: {disabled: 'disabled' in c.masquerade}, datapathProvider: 'LEGACY_DATAPATH',
    },
    ipAllocationPolicy: c.mode === 'VPC_NATIVE'
      ? {
          useIpAliases: true, clusterIpv4Cidr: c.clusterIpv4Cidr, clusterIpv4CidrBlock: c.clusterIpv4Cidr, servicesIpv4Cidr: c.servicesIpv4Cidr, servicesIpv4CidrBlock: c.servicesIpv4Cidr,
          ...(podRange ? {clusterSecondaryRangeName: podRange} : {}), ...(servicesRange ? {servicesSecondaryRangeName: servicesRange} : {}), stackType: 'IPV4',
        }
      : {useRoutes: true, stackType: 'IPV4'},
    ...(endpoint ? endpointsConfig(view, c, endpoint) : {}),
    id: shortHash(`${p}/${c.name}`).repeat(8), etag: etagOf(c),
  }
}

/** the clusters a location holds: `-` all; a region its regional clusters and the zonal ones of its zones; a zone its zonal ones */
export function clustersAt(t: Topology, location: string): ClusterSpec[] {
  if (location === '-') return t.clusters
  if (isZone(location)) return t.clusters.filter((c) => c.location === location)
  return t.clusters.filter((c) => c.location === location || (isZone(c.location) && regionOfZone(c.location) === location))
}
