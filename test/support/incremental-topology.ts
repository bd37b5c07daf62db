/**
 * A small topology for incremental lab changes (test/lab/incremental.test.ts, plan-diff.test.ts):
 * net-a (10.0.0.0/24) with keeper-a, keeper-b, client, server and GKE cluster k (one node, pod
 * app); net-b (10.1.0.0/24) with far.
 * Each change is a function of the topology document, so that a test builds its steps as the
 * cloud APIs would: one resource created or deleted at a time.
 */
import yaml from 'js-yaml'

import type {Model} from '../../src/core/topology/model-types.js'
import {parseTopology} from '../../src/core/topology/parse.js'

type Doc = Record<string, unknown> & {
  networks: Array<{name: string; subnets: unknown[]; peerings: Array<Record<string, unknown>>}>
  routes: Array<Record<string, unknown>>
  firewalls: Array<Record<string, unknown>>
  instances: Array<Record<string, unknown> & {name: string}>
  forwardingRules: Array<Record<string, unknown>>
  backendServices: Array<Record<string, unknown>>
}

const vm = (name: string, network: string, subnetwork: string, ip: string, tags: string[] = []): Doc['instances'][number] => ({
  name, zone: 'us-central1-a', tags, networkInterfaces: [{network, subnetwork, networkIP: ip}],
})

export function baseTopology(): Doc {
  return {
    apiVersion: 'xcc/v1', kind: 'Topology', metadata: {name: 'incremental'},
    networks: [
      {
        name: 'net-a', peerings: [],
        subnets: [{name: 'a', region: 'us-central1', ipCidrRange: '10.0.0.0/24', secondaryIpRanges: [{rangeName: 'k-pods', ipCidrRange: '10.8.0.0/16'}, {rangeName: 'k-services', ipCidrRange: '10.9.0.0/20'}]}],
      },
      {name: 'net-b', subnets: [{name: 'b', region: 'us-central1', ipCidrRange: '10.1.0.0/24'}], peerings: []},
    ],
    routes: [],
    firewalls: [
      {name: 'a-allow-internal', network: 'net-a', sourceRanges: ['10.0.0.0/8'], allowed: [{IPProtocol: 'all'}]},
      {name: 'b-allow-internal', network: 'net-b', sourceRanges: ['10.0.0.0/8'], allowed: [{IPProtocol: 'all'}]},
    ],
    instances: [
      vm('keeper-a', 'net-a', 'a', '10.0.0.2'),
      vm('keeper-b', 'net-a', 'a', '10.0.0.3'),
      vm('client', 'net-a', 'a', '10.0.0.4'),
      vm('server', 'net-a', 'a', '10.0.0.5', ['server']),
      vm('far', 'net-b', 'b', '10.1.0.5'),
    ],
    forwardingRules: [],
    backendServices: [],
    // a GKE cluster whose pod must keep running through every change
    clusters: [{
      name: 'k', location: 'us-central1-a', network: 'net-a', subnetwork: 'a', mode: 'VPC_NATIVE',
      clusterIpv4Cidr: '10.8.0.0/16', servicesIpv4Cidr: '10.9.0.0/20', masquerade: {ipMasq: {}},
      nodes: [{name: 'gke-k-node-1', networkIP: '10.0.0.10', podCidr: '10.8.0.0/24'}],
      pods: [{namespace: 'default', name: 'app', node: 'gke-k-node-1', ip: '10.8.0.5', ports: [8080]}],
    }],
  }
}

export function modelOf(doc: Doc): Model {
  return parseTopology(yamlOf(doc), 'incremental.yaml')
}

export function yamlOf(doc: Doc): string {
  return yaml.dump(doc, {lineWidth: -1})
}

const copy = (doc: Doc): Doc => structuredClone(doc)

/** (a) a deny rule in front of the allow rule: client's TCP into server */
export const denyIntoServer = {name: 'deny-into-server', network: 'net-a', priority: 900, sourceRanges: ['10.0.0.4/32'], targetTags: ['server'], denied: [{IPProtocol: 'tcp'}]}

export function withFirewall(doc: Doc, rule: Record<string, unknown>): Doc {
  const d = copy(doc)
  d.firewalls.push(rule)
  return d
}

export function withoutFirewall(doc: Doc, name: string): Doc {
  const d = copy(doc)
  d.firewalls = d.firewalls.filter((f) => f.name !== name)
  return d
}

/** (c) one side of the peering net-a ↔ net-b */
export function withPeering(doc: Doc, network: 'net-a' | 'net-b'): Doc {
  const d = copy(doc)
  const peer = network === 'net-a' ? 'net-b' : 'net-a'
  d.networks.find((n) => n.name === network)?.peerings.push({name: `${network}-to-${peer}`, network: peer})
  return d
}

export function withoutPeerings(doc: Doc): Doc {
  const d = copy(doc)
  for (const n of d.networks) n.peerings = []
  return d
}

/**
 * (d) a two-NIC gateway between net-a and net-b whose startup-script turns forwarding on (the
 * topology says ipForward: true, the lab starts it at 0: only the script makes it forward) and
 * writes `marker`. Inserted before `far`, so that naming by order would rename far.
 */
export function withGateway(doc: Doc, marker: string): Doc {
  const d = copy(doc)
  const gw = {
    name: 'gw', zone: 'us-central1-a', canIpForward: true, tags: ['gateway'],
    networkInterfaces: [{network: 'net-a', subnetwork: 'a', networkIP: '10.0.0.20'}, {network: 'net-b', subnetwork: 'b', networkIP: '10.1.0.20'}],
    guest: {ipForward: true},
    metadata: {'startup-script': `#!/bin/sh\nset -e\nsysctl -qw net.ipv4.ip_forward=1\necho "forwarding on in $(ip -o addr show nic1 | awk '{print $4}')"\necho booted > ${marker}\n`},
  }
  d.instances.splice(d.instances.findIndex((i) => i.name === 'far'), 0, gw)
  return d
}

export function withoutInstance(doc: Doc, name: string): Doc {
  const d = copy(doc)
  d.instances = d.instances.filter((i) => i.name !== name)
  return d
}

/** an instance whose only NIC moves to another network (its link is replaced under the same guest name) */
export function withNicMoved(doc: Doc, name: string, network: string, subnetwork: string, ip: string): Doc {
  const d = copy(doc)
  const instance = d.instances.find((i) => i.name === name)
  if (instance) instance.networkInterfaces = [{network, subnetwork, networkIP: ip}]
  return d
}

/** (b) static routes through the gateway, both ways */
export function withGatewayRoutes(doc: Doc): Doc {
  const d = copy(doc)
  d.routes.push(
    {name: 'a-to-b-via-gw', network: 'net-a', destRange: '10.1.0.0/24', nextHopInstance: 'gw'},
    {name: 'b-to-a-via-gw', network: 'net-b', destRange: '10.0.0.0/24', nextHopInstance: 'gw'},
  )
  return d
}

export function withoutRoutes(doc: Doc): Doc {
  const d = copy(doc)
  d.routes = []
  return d
}

/** (e) step 1: a backend service of server (health checks on 80, admitted by a prober rule) */
export function withBackendService(doc: Doc): Doc {
  const d = copy(doc)
  d.firewalls.push({name: 'a-allow-probers', network: 'net-a', sourceRanges: ['35.191.0.0/16', '130.211.0.0/22'], allowed: [{IPProtocol: 'tcp', ports: ['80']}]})
  d.backendServices.push({name: 'web', region: 'us-central1', backends: ['server'], healthCheck: {protocol: 'TCP', port: 80}})
  return d
}

/** (e) step 2: its forwarding rule, VIP 10.0.0.100:80 */
export function withForwardingRule(doc: Doc): Doc {
  const d = copy(doc)
  d.forwardingRules.push({name: 'web-ilb', region: 'us-central1', network: 'net-a', subnetwork: 'a', IPAddress: '10.0.0.100', ports: ['80'], backendService: 'web'})
  return d
}

export type {Doc as TopologyDoc}
