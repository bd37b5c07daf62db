import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {resolveCluster} from '../../src/app/link-plan.js'
import type {GkeCluster} from '../../src/core/ports/gcp.js'
import {assertBadInput} from '../support/xcc-error.js'

const clusters: GkeCluster[] = [{name: 'web', location: 'us-west1-a'}, {name: 'web', location: 'europe-west1'}, {name: 'db', location: 'us-west1'}]

describe('link clusters: NAME or LOCATION/NAME', () => {
  it('finds a unique name, or a location and name', () => {
    assert.equal(resolveCluster(clusters, 'db', '--to').location, 'us-west1')
    assert.equal(resolveCluster(clusters, 'europe-west1/web', '--from').location, 'europe-west1')
  })

  it('an ambiguous name is exit 2 listing the locations', () => {
    const e = assertBadInput(() => resolveCluster(clusters, 'web', '--from'), /--from web: 2 clusters of the project are named web/)
    assert.deepEqual(e.details, ['us-west1-a/web', 'europe-west1/web'])
    assert.equal(e.hint, 'say which: --from us-west1-a/web')
  })

  it('an unknown one is exit 2 naming it and the clusters', () => {
    const e = assertBadInput(() => resolveCluster(clusters, 'us-east1/db', '--to'), /--to us-east1\/db: no such GKE cluster in the project/)
    assert.equal(e.hint, 'clusters: europe-west1/web, us-west1-a/web, us-west1/db')
  })
})
