/** Fixes name the user's real kube context of a cluster: gcloud's `gke_<project>_<location>_<cluster>`, or the cluster's name. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {findClusterContext, parseGkeContext} from '../../../src/core/kube/contexts.js'
import {doctorFixture} from '../../support/fixtures.js'

describe('the kube context of a GKE cluster', () => {
  const frontend = {name: 'frontend', location: 'europe-west1-c'}

  it('is gcloud\'s name for it when the kubeconfig has it', () => {
    assert.equal(findClusterContext(frontend, ['other', 'gke_acme-prod_europe-west1-c_frontend']), 'gke_acme-prod_europe-west1-c_frontend')
    assert.equal(findClusterContext({...frontend, project: 'acme-prod'}, ['gke_acme-dev_europe-west1-c_frontend', 'gke_acme-prod_europe-west1-c_frontend']), 'gke_acme-prod_europe-west1-c_frontend')
  })

  it('is not guessed when two projects have the same cluster and the project is unknown, nor for another location', () => {
    assert.equal(findClusterContext(frontend, ['gke_a_europe-west1-c_frontend', 'gke_b_europe-west1-c_frontend']), undefined)
    assert.equal(findClusterContext(frontend, ['gke_a_us-east1-b_frontend']), undefined)
  })

  it('is the cluster\'s own name when a context is named so', () => {
    assert.equal(findClusterContext(frontend, ['frontend', 'backend']), 'frontend')
    assert.equal(findClusterContext(frontend, []), undefined)
  })

  it('reads gcloud\'s names back (a cluster name may hold an underscore, a project may not)', () => {
    assert.deepEqual(parseGkeContext('gke_p_us-central1_my_cluster'), {project: 'p', location: 'us-central1', name: 'my_cluster'})
    assert.equal(parseGkeContext('frontend'), undefined)
  })
})

describe('the static doctor\'s fix for seed 001', () => {
  it('names gcloud\'s context of the cluster when the kubeconfig has it, and says when it only stands for one', () => {
    const named = doctorFixture('seed-001-peered-vpcs-missing-snat', 'frontend', 'lb/backend-ilb', {contexts: ['gke_acme_europe-west1-c_frontend-cluster', 'gke_acme_europe-west1-c_frontend']})
    assert.equal(named.diagnosis?.fix[0], 'xcc masquerade add --context gke_acme_europe-west1-c_frontend --cidr 10.193.0.0/16')
    const guessed = doctorFixture('seed-001-peered-vpcs-missing-snat', 'frontend', 'lb/backend-ilb')
    assert.equal(guessed.diagnosis?.fix[0], 'xcc masquerade add --context frontend --cidr 10.193.0.0/16   # frontend stands for the kube context of cluster frontend')
  })
})
