/**
 * What a gateway link plus a peering would write in the lab's test cloud (CLOUD_TOPOLOGY): one
 * resource of every kind the Compute write port knows, marked as xcc marks what it owns (name,
 * JSON description, labels where the kind has them), and the create and delete plans the planner
 * would make of them (dependencies forward, and reversed for delete). Hand-written here: the
 * planner is not under test.
 */
import {type PlannedChange, changeKey} from '../../../src/core/link/changes.js'
import {openCompute} from '../../../src/adapters/gcp/compute.js'
import {openComputeWriter} from '../../../src/adapters/gcp/writes.js'
import type {ComputeApi} from '../../../src/core/ports/gcp.js'
import type {ComputeWriter, DesiredResource, ResourceRef} from '../../../src/core/ports/gcp-writes.js'
import {PROJECT} from './support.js'

export const LINK = 't'
const mark = (role: string): string => JSON.stringify({'managed-by': 'xcc', link: LINK, role, v: 1})
const labels = {'managed-by': 'xcc', 'xcc-link': LINK}
const G = {kind: 'global'} as const
const WEST = {kind: 'region', name: 'us-west1'} as const
const ZONE = {kind: 'zone', name: 'us-west1-a'} as const

export const NETWORK: DesiredResource = {kind: 'network', scope: G, name: 'xcc-t-via', body: {description: mark('via'), autoCreateSubnetworks: false, routingConfig: {routingMode: 'REGIONAL'}}}
export const SUBNET: DesiredResource = {kind: 'subnetwork', scope: WEST, name: 'xcc-t-via', body: {description: mark('via'), network: 'global/networks/xcc-t-via', ipCidrRange: '10.30.0.0/24'}}
export const FIREWALL: DesiredResource = {kind: 'firewall', scope: G, name: 'xcc-t-allow-b', body: {
  description: mark('allow'), network: 'global/networks/net-a', direction: 'INGRESS', priority: 1000,
  sourceRanges: ['10.20.0.0/24'], allowed: [{IPProtocol: 'tcp', ports: ['8080']}], targetTags: ['xcc-t-gw'],
}}
export const INSTANCE: DesiredResource = {kind: 'instance', scope: ZONE, name: 'xcc-t-gw-1', body: {
  description: mark('gateway'), labels, canIpForward: true, tags: {items: ['xcc-t-gw']},
  machineType: 'zones/us-west1-a/machineTypes/e2-small',
  disks: [{boot: true, autoDelete: true, initializeParams: {sourceImage: 'projects/debian-cloud/global/images/family/debian-12'}}],
  networkInterfaces: [{subnetwork: 'regions/us-west1/subnetworks/xcc-t-via'}, {subnetwork: 'regions/us-west1/subnetworks/a-1'}],
  metadata: {items: [{key: 'startup-script', value: 'sysctl -w net.ipv4.ip_forward=1'}]},
}}
export const GROUP: DesiredResource = {kind: 'instanceGroup', scope: ZONE, name: 'xcc-t-gw', body: {
  description: mark('gateways'), network: 'global/networks/xcc-t-via', instances: ['zones/us-west1-a/instances/xcc-t-gw-1'],
}}
export const HEALTH: DesiredResource = {kind: 'healthCheck', scope: WEST, name: 'xcc-t-hc', body: {
  description: mark('health'), type: 'TCP', tcpHealthCheck: {port: 22}, checkIntervalSec: 5, timeoutSec: 5, healthyThreshold: 2, unhealthyThreshold: 2,
}}
export const BACKEND: DesiredResource = {kind: 'backendService', scope: WEST, name: 'xcc-t-bs', body: {
  description: mark('backend'), loadBalancingScheme: 'INTERNAL', protocol: 'TCP', network: 'global/networks/xcc-t-via',
  healthChecks: ['regions/us-west1/healthChecks/xcc-t-hc'], backends: [{group: 'zones/us-west1-a/instanceGroups/xcc-t-gw', balancingMode: 'CONNECTION'}],
}}
export const RULE: DesiredResource = {kind: 'forwardingRule', scope: WEST, name: 'xcc-t-fr', body: {
  description: mark('ilb'), labels, loadBalancingScheme: 'INTERNAL', IPProtocol: 'TCP', allPorts: true,
  backendService: 'regions/us-west1/backendServices/xcc-t-bs', network: 'global/networks/xcc-t-via', subnetwork: 'regions/us-west1/subnetworks/xcc-t-via',
}}
export const ROUTE: DesiredResource = {kind: 'route', scope: G, name: 'xcc-t-to-via', body: {
  description: mark('route'), network: 'global/networks/net-a', destRange: '10.30.0.0/24', priority: 900, nextHopInstance: 'zones/us-west1-a/instances/xcc-t-gw-1',
}}
export const PEER_AB: DesiredResource = {kind: 'peering', scope: G, parent: 'net-a', name: 'xcc-t-a-b', body: {network: 'global/networks/net-b', exchangeSubnetRoutes: true, exportCustomRoutes: false, importCustomRoutes: false}}
export const PEER_BA: DesiredResource = {kind: 'peering', scope: G, parent: 'net-b', name: 'xcc-t-b-a', body: {network: 'global/networks/net-a', exchangeSubnetRoutes: true, exportCustomRoutes: false, importCustomRoutes: false}}

/** every resource, in an order that works for create */
export const ALL: readonly DesiredResource[] = [NETWORK, SUBNET, FIREWALL, INSTANCE, GROUP, HEALTH, BACKEND, RULE, ROUTE, PEER_AB, PEER_BA]

const needs = new Map<DesiredResource, readonly DesiredResource[]>([
  [SUBNET, [NETWORK]], [INSTANCE, [SUBNET]], [GROUP, [INSTANCE]], [BACKEND, [HEALTH, GROUP]], [RULE, [BACKEND]], [ROUTE, [INSTANCE]],
])

/** the create plan: each change after what it refers to (the two peerings are independent, as PEER-01 allows) */
export function createPlan(): PlannedChange[] {
  return ALL.map((r) => ({key: changeKey(r), action: 'create', resource: r, reason: `test: ${r.kind}`, dependsOn: (needs.get(r) ?? []).map(changeKey)}))
}

const refOf = (r: DesiredResource): ResourceRef => ({kind: r.kind, scope: r.scope, name: r.name, ...(r.parent ? {parent: r.parent} : {})})

/** the delete plan: the same graph reversed */
export function deletePlan(): PlannedChange[] {
  return [...ALL].reverse().map((r) => ({
    key: changeKey(r), action: 'delete', resource: refOf(r), reason: `test: ${r.kind}`,
    dependsOn: ALL.filter((other) => (needs.get(other) ?? []).includes(r)).map(changeKey),
  }))
}

/** the write and read adapters of xcc on a test cloud, with the token given (the admin's by default) */
export async function openClients(port: number, token: string, options: {timeoutMs?: number} = {}): Promise<{writer: ComputeWriter; compute: ComputeApi; stats: {requests: number; retries: number}}> {
  process.env.METADATA_SERVER_DETECTION = 'none'
  const {OAuth2Client} = await import('google-auth-library')
  const auth = new OAuth2Client()
  auth.setCredentials({access_token: token, expiry_date: Date.now() + 3_600_000})
  const stats = {requests: 0, retries: 0}
  const options_ = {project: PROJECT, auth, endpoint: {host: '127.0.0.1', port, protocol: 'http' as const}, deadline: Date.now() + (options.timeoutMs ?? 60_000), stats}
  const [writer, compute] = await Promise.all([openComputeWriter(options_), openCompute({...options_, stats: {requests: 0, retries: 0}})])
  return {writer, compute, stats}
}
