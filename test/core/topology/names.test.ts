/**
 * Every name of a topology file follows the rule of what it names (issue 13): GCP resource names,
 * network tags, GKE cluster names and Kubernetes namespace, pod, Service and port names. A name
 * GCP or Kubernetes would refuse is a load error naming the field and the rule, so the doctor
 * never accepts a file that `xcc lab up` then fails to build (before: a cluster `a;b`, `ünï` or 64
 * characters long failed at the lab's certificates, a pod namespace `..` or a node `GKE_A_NODE`
 * in the lab's API server after everything was built, exit 3 with the daemon's stack).
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import yaml from 'js-yaml'

import {TopologyError, type TopologyIssue} from '../../../src/core/errors.js'
import {parseTopology} from '../../../src/core/topology/parse.js'

const SCENARIO = fileURLToPath(new URL('../../../templates/scenarios/vpc-native-pair-works.yaml', import.meta.url))

type Doc = Record<string, unknown>

/** the scenario, plus a VM with tags and an alias range, a tagged route and a named service port */
function base(): Doc {
  const doc = yaml.load(readFileSync(SCENARIO, 'utf8')) as Doc
  const networks = doc.networks as Doc[]
  ;(doc.instances as unknown) = [{
    name: 'vm', zone: 'us-central1-a', tags: ['web'],
    networkInterfaces: [{network: 'net-a', subnetwork: 'a-nodes', networkIP: '10.10.0.50', aliasIpRanges: [{ipCidrRange: '10.20.200.0/24', subnetworkRangeName: 'a-pods'}]}],
  }]
  ;(doc.routes as Doc[]).push({name: 'via-vm', network: 'net-a', destRange: '192.168.0.0/16', nextHopInstance: 'vm', tags: ['web']})
  ;(doc.firewalls as Doc[])[0] = {...(doc.firewalls as Doc[])[0], sourceTags: ['web'], targetTags: ['gke-b-node']}
  ;(((doc.clusters as Doc[])[1]?.services as Doc[])[0]?.ports as Doc[])[0] = {name: 'http', port: 80, targetPort: 8080, nodePort: 30080, protocol: 'TCP'}
  assert.ok(networks.length === 2)
  return doc
}

/** sets the value at a path like `clusters[1].services[0].name` */
function set(doc: Doc, path: string, value: unknown): Doc {
  const keys = path.match(/[^.[\]]+/g) as string[]
  let at: Record<string, unknown> = doc
  for (const key of keys.slice(0, -1)) at = at[key] as Record<string, unknown>
  at[keys[keys.length - 1] as string] = value
  return doc
}

function issuesOf(doc: Doc): readonly TopologyIssue[] {
  try {
    parseTopology(JSON.stringify(doc), 'topo.json')
  } catch (error) {
    assert.ok(error instanceof TopologyError, String(error))
    return error.issues
  }
  return []
}

const GCP = /^must be a GCP resource name: 1-63 lowercase letters, digits or dashes, starting with a letter and not ending with a dash$/
const TAG = /^must be a network tag: 1-63 lowercase letters, digits or dashes, starting with a letter and not ending with a dash$/
const CLUSTER = /^must be a GKE cluster name: 1-40 lowercase letters, digits or dashes, starting with a letter and not ending with a dash$/
const NAMESPACE = /^must be a Kubernetes namespace name \(an RFC 1123 label\): 1-63 lowercase letters, digits or dashes, starting and ending with a letter or digit$/
const POD = /^must be a Kubernetes pod name \(an RFC 1123 subdomain\): /
const SERVICE = /^must be a Kubernetes Service name \(an RFC 1035 label\): /
const PORT = /^must be a Kubernetes port name \(an RFC 1123 label\): /

const CASES: ReadonlyArray<readonly [string, unknown, RegExp]> = [
  ['networks[0].name', 'Net-A', GCP],
  ['networks[0].subnets[0].name', 'a;b', GCP],
  ['networks[0].subnets[0].secondaryIpRanges[0].rangeName', '1pods', GCP],
  ['networks[0].peerings[0].name', 'p'.repeat(64), GCP],
  ['networks[0].peerings[0].network', 'net_b', GCP],
  ['routes[0].name', 'a-default-', GCP],
  ['routes[2].tags[0]', 'Web', TAG],
  ['routes[2].nextHopInstance', 'vm $(id)', GCP],
  ['firewalls[0].name', 'ünï', GCP],
  ['firewalls[0].network', '', GCP],
  ['firewalls[0].sourceTags[0]', 'web tier', TAG],
  ['firewalls[0].targetTags[0]', '-node', TAG],
  ['instances[0].name', 'VM', GCP],
  ['instances[0].tags[0]', 'a/b', TAG],
  ['instances[0].networkInterfaces[0].subnetwork', 'a.nodes', GCP],
  ['instances[0].networkInterfaces[0].aliasIpRanges[0].subnetworkRangeName', 'A-PODS', GCP],
  ['forwardingRules[0].name', 'b ilb', GCP],
  ['forwardingRules[0].backendService', 'b\nbackend', GCP],
  ['backendServices[0].name', 'b`backend`', GCP],
  ['backendServices[0].backends[0]', 'gke-b-node-1;', GCP],
  ['clusters[0].name', 'a;b', CLUSTER],
  ['clusters[0].name', 'a'.repeat(41), CLUSTER],
  ['clusters[0].subnetwork', 'a-nodes\u0000', GCP],
  ['clusters[0].nodes[0].name', 'GKE_A_NODE', GCP],
  ['clusters[0].nodes[0].tags', ['gke node'], TAG],
  ['clusters[0].pods[0].namespace', '..', NAMESPACE],
  ['clusters[0].pods[0].namespace', 'team.a', NAMESPACE],
  ['clusters[0].pods[0].name', 'c;d', POD],
  ['clusters[0].pods[0].name', 'Client', POD],
  ['clusters[0].pods[0].node', 'node/1', GCP],
  ['clusters[1].services[0].namespace', 'Default', NAMESPACE],
  ['clusters[1].services[0].name', '1server', SERVICE],
  ['clusters[1].services[0].name', 'server.v2', SERVICE],
  ['clusters[1].services[0].endpoints[0]', 'server_0', POD],
  ['clusters[1].services[0].ports[0].name', 'a" -j DROP', PORT],
  ['clusters[1].services[0].loadBalancer.forwardingRule', 'B-ILB', GCP],
]

describe('names follow the rule of what they name', () => {
  it('the base file loads', () => {
    assert.deepEqual(issuesOf(base()), [])
  })

  for (const [path, value, rule] of CASES) {
    it(`${path}: ${JSON.stringify(value).slice(0, 40)} is a load error naming the field and the rule`, () => {
      const issues = issuesOf(set(base(), path, value))
      const at = Array.isArray(value) ? `${path}[0]` : path
      const issue = issues.find((i) => i.path === at)
      assert.ok(issue, `no issue at ${at}: ${JSON.stringify(issues)}`)
      assert.match(issue.message, rule)
      assert.deepEqual(issue.value, Array.isArray(value) ? value[0] : value)
    })
  }

  it('names at the edge of each rule load', () => {
    const doc = base()
    const longest = `n${'0'.repeat(61)}z`
    set(doc, 'networks[1].name', longest)
    set(doc, 'networks[0].peerings[0].network', longest)
    set(doc, 'routes[1].network', longest)
    set(doc, 'firewalls[0].network', longest)
    set(doc, 'firewalls[1].network', longest)
    set(doc, 'forwardingRules[0].network', longest)
    set(doc, 'clusters[1].network', longest)
    set(doc, 'clusters[0].name', `c${'-'.repeat(38)}9`)
    set(doc, 'clusters[0].pods[0].namespace', '0team-a')
    set(doc, 'clusters[0].pods[0].name', 'client-0.v2')
    set(doc, 'clusters[1].services[0].name', 's')
    set(doc, 'clusters[1].services[0].ports[0].name', '8080-http')
    set(doc, 'instances[0].tags', ['w', 'web-2'])
    assert.deepEqual(issuesOf(doc), [])
  })
})
