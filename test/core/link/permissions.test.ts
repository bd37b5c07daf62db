/**
 * The permissions a link's plan needs (core/link/permissions.ts): every kind and action has its
 * own, named as Compute Engine's IAM names them, and an instance insert needs what real GCP checks
 * on it besides (the boot disk, the subnetworks, metadata, tags and labels). The lab's routes check
 * the same names: a permission the list names for a change is one the lab refuses it without.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import type {ChangeAction} from '../../../src/core/link/changes.js'
import {permissionsForChange, permissionsForPlan} from '../../../src/core/link/permissions.js'
import type {WritableKind} from '../../../src/core/ports/gcp-writes.js'
import {computePermissions} from '../../../src/lab/compute/api.js'
import {insertAlsoNeeds} from '../../../src/lab/compute/instance-writes.js'

const KINDS: Record<WritableKind, {scope: 'global' | 'region' | 'zone'; create: string; update: string; delete: string}> = {
  network: {scope: 'global', create: 'compute.networks.create', update: 'compute.networks.update', delete: 'compute.networks.delete'},
  subnetwork: {scope: 'region', create: 'compute.subnetworks.create', update: 'compute.subnetworks.update', delete: 'compute.subnetworks.delete'},
  firewall: {scope: 'global', create: 'compute.firewalls.create', update: 'compute.firewalls.update', delete: 'compute.firewalls.delete'},
  route: {scope: 'global', create: 'compute.routes.create', update: 'compute.routes.update', delete: 'compute.routes.delete'},
  instance: {scope: 'zone', create: 'compute.instances.create', update: 'compute.instances.update', delete: 'compute.instances.delete'},
  instanceGroup: {scope: 'zone', create: 'compute.instanceGroups.create', update: 'compute.instanceGroups.update', delete: 'compute.instanceGroups.delete'},
  healthCheck: {scope: 'region', create: 'compute.regionHealthChecks.create', update: 'compute.regionHealthChecks.update', delete: 'compute.regionHealthChecks.delete'},
  backendService: {scope: 'region', create: 'compute.regionBackendServices.create', update: 'compute.regionBackendServices.update', delete: 'compute.regionBackendServices.delete'},
  forwardingRule: {scope: 'region', create: 'compute.forwardingRules.create', update: 'compute.forwardingRules.update', delete: 'compute.forwardingRules.delete'},
  // PEER-01: peerings are changed through their network
  peering: {scope: 'global', create: 'compute.networks.addPeering', update: 'compute.networks.updatePeering', delete: 'compute.networks.removePeering'},
}

const scopeOf = (kind: 'global' | 'region' | 'zone') => (kind === 'global' ? {kind} : {kind, name: kind === 'region' ? 'us-central1' : 'us-central1-a'})

describe('the permissions of a link plan', () => {
  for (const [kind, want] of Object.entries(KINDS) as Array<[WritableKind, (typeof KINDS)[WritableKind]]>) {
    for (const action of ['create', 'update', 'delete'] as ChangeAction[]) {
      it(`${action} ${kind}: ${want[action]}`, () => {
        const resource = {kind, scope: scopeOf(want.scope), name: 'x', ...(kind === 'peering' ? {parent: 'net'} : {}), ...(action === 'delete' ? {} : {body: {}})}
        const got = permissionsForChange({action, resource})
        assert.ok(got.includes(want[action]), `${got.join(', ')}`)
        assert.ok(got.every((p) => /^compute\.[a-zA-Z]+\.[a-zA-Z]+$/.test(p)))
      })
    }
  }

  it('an instance insert needs the disk, the subnetwork and what its body sets, as real GCP checks', () => {
    const body = {networkInterfaces: [{subnetwork: 'regions/r/subnetworks/s'}], disks: [{boot: true}], tags: {items: ['a']}, labels: {'xcc-link': 'demo'}, metadata: {items: []}}
    assert.deepEqual(permissionsForChange({action: 'create', resource: {kind: 'instance', scope: scopeOf('zone'), name: 'vm', body}}), [
      'compute.disks.create', 'compute.instances.create', 'compute.instances.setLabels', 'compute.instances.setMetadata', 'compute.instances.setTags', 'compute.subnetworks.use',
    ])
    // the lab refuses the same insert without any of them
    assert.deepEqual(['compute.instances.create', ...insertAlsoNeeds(body)].sort(), permissionsForChange({action: 'create', resource: {kind: 'instance', scope: scopeOf('zone'), name: 'vm', body}}))
    const external = {...body, networkInterfaces: [{subnetwork: 's', accessConfigs: [{type: 'ONE_TO_ONE_NAT'}]}]}
    assert.ok(permissionsForChange({action: 'create', resource: {kind: 'instance', scope: scopeOf('zone'), name: 'vm', body: external}}).includes('compute.subnetworks.useExternalIp'))
  })

  it('a group created with members also needs the group update (addInstances)', () => {
    const group = (instances: string[]) => permissionsForChange({action: 'create', resource: {kind: 'instanceGroup', scope: scopeOf('zone'), name: 'g', body: {instances}}})
    assert.deepEqual(group(['zones/z/instances/a']), ['compute.instanceGroups.create', 'compute.instanceGroups.update'])
    assert.deepEqual(group([]), ['compute.instanceGroups.create'])
  })

  it('a plan lists each permission once, sorted, with the changes that need it', () => {
    const fw = (name: string) => ({key: `firewall/global/${name}`, action: 'create' as const, resource: {kind: 'firewall' as const, scope: {kind: 'global' as const}, name, body: {}}})
    const peer = {key: 'peering/global/a/p', action: 'delete' as const, resource: {kind: 'peering' as const, scope: {kind: 'global' as const}, name: 'p', parent: 'a'}}
    assert.deepEqual(permissionsForPlan([fw('a'), fw('b'), peer]), [
      {permission: 'compute.firewalls.create', changes: ['firewall/global/a', 'firewall/global/b']},
      {permission: 'compute.networks.removePeering', changes: ['peering/global/a/p']},
    ])
    assert.deepEqual(permissionsForPlan([]), [])
  })

  it('the lab checks the same names on its writes (the kinds the lab has routes for)', () => {
    const lab = computePermissions()
    for (const [kind, want] of Object.entries(KINDS)) {
      for (const action of ['create', 'delete'] as const) assert.equal(lab.get(want[action]), true, `${kind} ${action}: the lab's route checks ${want[action]}`)
    }
  })
})
