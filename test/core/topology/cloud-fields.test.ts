/**
 * The topology fields the Compute API names but the network does not need: health checks,
 * instance groups (yours and GKE's node pool groups), descriptions and labels, and the rules that
 * keep a backend service's copies (`healthCheck`, flattened `backends`) in agreement with them.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {TopologyError} from '../../../src/core/errors.js'
import {nodePoolGroups} from '../../../src/core/topology/node-pools.js'
import {parseTopology} from '../../../src/core/topology/parse.js'

const base = `apiVersion: xcc/v1
kind: Topology
metadata: {name: t}
networks:
  - name: vpc-a
    description: the shared VPC
    subnets:
      - {name: a-main, region: us-west1, ipCidrRange: 10.1.0.0/24}
instances:
  - {name: vm-1, zone: us-west1-a, labels: {app: web}, description: x, networkInterfaces: [{network: vpc-a, subnetwork: a-main, networkIP: 10.1.0.10}]}
clusters:
  - name: c1
    location: us-west1-a
    network: vpc-a
    subnetwork: a-main
    mode: ROUTES
    clusterIpv4Cidr: 10.8.0.0/14
    servicesIpv4Cidr: 10.12.0.0/20
    nodes:
      - {name: gke-c1-pool-a-0123abcd-x1y2, networkIP: 10.1.0.2, podCidr: 10.8.0.0/24}
      - {name: plain-node, networkIP: 10.1.0.3, podCidr: 10.8.1.0/24}
`

function problems(text: string): readonly string[] {
  try {
    parseTopology(text, 't.yaml')
  } catch (error) {
    assert.ok(error instanceof TopologyError)
    return error.details
  }
  return []
}

describe('node pool groups', () => {
  it('follow GKE-shaped node names, else the cluster\'s default-pool group of the zone', () => {
    const model = parseTopology(base, 't.yaml')
    const groups = nodePoolGroups(model.topology)
    assert.deepEqual(groups.map((g) => [g.name, g.zone, g.pool, g.nodes]), [
      ['gke-c1-pool-a-0123abcd-grp', 'us-west1-a', 'pool-a', ['gke-c1-pool-a-0123abcd-x1y2']],
      [groups[1]?.name, 'us-west1-a', 'default-pool', ['plain-node']],
    ])
    assert.match(groups[1]?.name ?? '', /^gke-c1-default-pool-[0-9a-f]{8}-grp$/)
  })
})

describe('health checks, instance groups and backend services', () => {
  const lb = (backends: string, groups: string, check: string): string => `${base}healthChecks:
  - {name: hc, type: HTTP, port: 80, requestPath: /healthz}
instanceGroups:
  - {name: ig, zone: us-west1-a, instances: [vm-1]}
backendServices:
  - {name: bs, region: us-west1, backends: ${backends}, groups: ${groups}, healthCheck: ${check}}
`
  it('load when the copies agree, node pool groups included', () => {
    assert.deepEqual(problems(lb('[vm-1, gke-c1-pool-a-0123abcd-x1y2]', '[ig, gke-c1-pool-a-0123abcd-grp]', '{name: hc, protocol: HTTP, port: 80, requestPath: /healthz}')), [])
  })

  it('refuse a group whose members backends leaves out, an unknown group, and a check that disagrees', () => {
    assert.deepEqual(problems(lb('[]', '[ig, nope]', '{name: hc, protocol: HTTP, port: 8080}')), [
      't.yaml: backendServices[0].healthCheck: differs from health check "hc" (HTTP port 80 /healthz): a backend service\'s healthCheck is a copy of the check it names',
      't.yaml: backendServices[0].groups[0]: backends must list every member of the group (instance groups flattened); missing: vm-1 (value: "ig")',
      't.yaml: backendServices[0].groups[1]: instance group "nope" does not exist (value: "nope")',
    ])
  })

  it('refuse a group that takes a node pool group\'s name, and a label that is not a GCE label', () => {
    const text = `${base.replace('labels: {app: web}', 'labels: {App: web}')}instanceGroups:\n  - {name: gke-c1-pool-a-0123abcd-grp, zone: us-west1-a}\n`
    const found = problems(text)
    assert.ok(found.some((p) => p.includes('instances[0].labels') && p.includes('a label key')), found.join('\n'))
    assert.ok(found.every((p) => !p.includes('duplicate')), 'shape errors stop the loader before references')
    const dup = problems(`${base}instanceGroups:\n  - {name: gke-c1-pool-a-0123abcd-grp, zone: us-west1-a}\n`)
    assert.deepEqual(dup, ['t.yaml: clusters[0].nodes: duplicate instance group name (node pool groups included) "gke-c1-pool-a-0123abcd-grp" (first defined at instanceGroups[0].name) (value: "gke-c1-pool-a-0123abcd-grp")'])
  })
})
