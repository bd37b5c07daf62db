/**
 * The lab's projects.testIamPermissions (src/lab/cloud/iam.ts) through xcc's IAM adapter on the
 * real @google-cloud/resource-manager client (v3, REST), and v1 by plain HTTP as gcloud calls it:
 * the answer agrees with the lab's 403s (the admin token holds all but what the fault file denies,
 * the viewer token only what reads need), a refused or missing question is `unavailable`.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {OAuth2Client} from 'google-auth-library'

import {openIam} from '../../../src/adapters/gcp/iam.js'
import {PROJECT, type TestCloud, startTestCloud} from './support.js'

process.env.METADATA_SERVER_DETECTION = 'none'

const ASKED = ['compute.firewalls.create', 'compute.firewalls.list', 'compute.networks.addPeering', 'compute.disks.create', 'compute.networks.get', 'container.clusters.list']

function iamFor(cloud: TestCloud, token: string, project = PROJECT) {
  const auth = new OAuth2Client()
  auth.setCredentials({access_token: token, expiry_date: Date.now() + 3_600_000})
  return openIam({project, auth, deadline: Date.now() + 20_000, endpoint: {host: '127.0.0.1', port: cloud.server.port, protocol: 'http'}})
}

describe('projects.testIamPermissions in the lab', () => {
  let cloud: TestCloud
  before(async () => {
    cloud = await startTestCloud(undefined, {faults: true})
  })
  after(() => cloud.close())

  it('admin holds every permission asked; the viewer only the reads', async () => {
    assert.deepEqual(await (await iamFor(cloud, cloud.tokens.admin)).testPermissions(ASKED), {held: ASKED})
    assert.deepEqual(await (await iamFor(cloud, cloud.tokens.viewer)).testPermissions(ASKED), {held: ['compute.firewalls.list', 'compute.networks.get', 'container.clusters.list']})
  })

  it('a permission the fault file denies is not held, and the write it guards is a 403 naming it', async () => {
    writeFileSync(join(cloud.dir, 'cloud-faults.json'), JSON.stringify({denied: ['compute.firewalls.create']}))
    try {
      const answer = await (await iamFor(cloud, cloud.tokens.admin)).testPermissions(ASKED)
      assert.deepEqual(answer, {held: ASKED.filter((p) => p !== 'compute.firewalls.create')})
      const write = await fetch(`${cloud.server.url}/compute/v1/projects/${PROJECT}/global/firewalls`, {method: 'POST', headers: {authorization: `Bearer ${cloud.tokens.admin}`, 'content-type': 'application/json'}, body: JSON.stringify({name: 'fw-x', network: 'global/networks/net-a'})})
      assert.equal(write.status, 403)
      assert.match(await write.text(), /Required 'compute\.firewalls\.create' permission/)
    } finally {
      writeFileSync(join(cloud.dir, 'cloud-faults.json'), '{}')
    }
  })

  it('an instance insert is refused without the disk permission GCP also checks, as IAM says', async () => {
    writeFileSync(join(cloud.dir, 'cloud-faults.json'), JSON.stringify({denied: ['compute.disks.create']}))
    try {
      assert.deepEqual(await (await iamFor(cloud, cloud.tokens.admin)).testPermissions(['compute.instances.create', 'compute.disks.create']), {held: ['compute.instances.create']})
      const body = {name: 'vm-x', machineType: 'zones/us-west1-a/machineTypes/e2-small', disks: [{boot: true, initializeParams: {sourceImage: 'projects/debian-cloud/global/images/family/debian-12'}}], networkInterfaces: [{network: 'global/networks/net-a'}]}
      const write = await fetch(`${cloud.server.url}/compute/v1/projects/${PROJECT}/zones/us-west1-a/instances`, {method: 'POST', headers: {authorization: `Bearer ${cloud.tokens.admin}`, 'content-type': 'application/json'}, body: JSON.stringify(body)})
      assert.equal(write.status, 403)
      assert.match(await write.text(), /Required 'compute\.disks\.create' permission/)
    } finally {
      writeFileSync(join(cloud.dir, 'cloud-faults.json'), '{}')
    }
  })

  it('v1, as gcloud asks: the same answer; no token is a 401; another project a 403', async () => {
    const ask = (path: string, token?: string) => fetch(`${cloud.server.url}${path}`, {method: 'POST', headers: {...(token ? {authorization: `Bearer ${token}`} : {}), 'content-type': 'application/json'}, body: JSON.stringify({permissions: ASKED})})
    const v1 = await ask(`/v1/projects/${PROJECT}:testIamPermissions`, cloud.tokens.viewer)
    assert.equal(v1.status, 200)
    assert.deepEqual(await v1.json(), {permissions: ['compute.firewalls.list', 'compute.networks.get', 'container.clusters.list']})
    assert.equal((await ask(`/v3/projects/${PROJECT}:testIamPermissions`)).status, 401)
    const other = await ask('/v3/projects/someone-else:testIamPermissions', cloud.tokens.admin)
    assert.equal(other.status, 403)
    assert.equal(((await other.json()) as {error: {status: string}}).error.status, 'PERMISSION_DENIED')
  })

  it('a question that cannot be answered (404, 403) is unavailable, not an error', async () => {
    writeFileSync(join(cloud.dir, 'cloud-faults.json'), JSON.stringify({faults: [{status: 501, path: ':testIamPermissions'}]}))
    try {
      const answer = await (await iamFor(cloud, cloud.tokens.admin)).testPermissions(ASKED)
      assert.ok('unavailable' in answer, JSON.stringify(answer))
    } finally {
      writeFileSync(join(cloud.dir, 'cloud-faults.json'), '{}')
    }
    const elsewhere = await (await iamFor(cloud, cloud.tokens.admin, 'someone-else')).testPermissions(ASKED)
    assert.ok('unavailable' in elsewhere && /403/.test(elsewhere.unavailable), JSON.stringify(elsewhere))
  })
})
