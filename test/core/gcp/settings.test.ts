/** The project, credentials and endpoints of a Google Cloud command, chosen as gcloud and terraform choose them. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {XccError} from '../../../src/core/errors.js'
import {chooseProject, chooseTokenSource, parseEndpointOverride} from '../../../src/core/gcp/settings.js'

describe('the project', () => {
  it('is --project, else CLOUDSDK_CORE_PROJECT, else GOOGLE_CLOUD_PROJECT, else gcloud\'s configuration, else the nodes, else the context names', () => {
    const all = {flag: 'flag-project', env: {CLOUDSDK_CORE_PROJECT: 'sdk-project', GOOGLE_CLOUD_PROJECT: 'env-project'}, gcloudProject: 'gcloud-project', providerIds: ['gce://node-project/us-west1-a/n1'], contexts: ['gke_ctx-project_us-west1_c1']}
    assert.deepEqual(chooseProject(all), {project: 'flag-project', source: '--project'})
    assert.deepEqual(chooseProject({...all, flag: undefined}), {project: 'sdk-project', source: 'CLOUDSDK_CORE_PROJECT'})
    assert.deepEqual(chooseProject({...all, flag: undefined, env: {GOOGLE_CLOUD_PROJECT: 'env-project'}}), {project: 'env-project', source: 'GOOGLE_CLOUD_PROJECT'})
    assert.deepEqual(chooseProject({...all, flag: undefined, env: {}}), {project: 'gcloud-project', source: 'gcloud configuration'})
    assert.deepEqual(chooseProject({env: {}, providerIds: all.providerIds, contexts: all.contexts}), {project: 'node-project', source: 'node providerID'})
    assert.deepEqual(chooseProject({env: {}, contexts: all.contexts}), {project: 'ctx-project', source: 'kube context name'})
    assert.equal(chooseProject({env: {}}), undefined)
  })

  it('is not guessed from nodes or contexts of several projects', () => {
    assert.equal(chooseProject({env: {}, contexts: ['gke_one-project_z_a', 'gke_two-project_z_b']}), undefined)
  })

  it('must be a project id (exit 2 naming where it came from)', () => {
    assert.throws(() => chooseProject({env: {CLOUDSDK_CORE_PROJECT: 'Not_A_Project'}}), (e: unknown) => e instanceof XccError && e.exitCode === 2 && /CLOUDSDK_CORE_PROJECT names the project "Not_A_Project"/.test(e.message))
  })
})

describe('the credentials', () => {
  it('are the token variables in gcloud\'s and terraform\'s order, else application default credentials', () => {
    assert.equal(chooseTokenSource({CLOUDSDK_AUTH_ACCESS_TOKEN: 'a', GOOGLE_OAUTH_ACCESS_TOKEN: 'b'}), 'CLOUDSDK_AUTH_ACCESS_TOKEN')
    assert.equal(chooseTokenSource({CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: '/t', GOOGLE_OAUTH_ACCESS_TOKEN: 'b'}), 'CLOUDSDK_AUTH_ACCESS_TOKEN_FILE')
    assert.equal(chooseTokenSource({GOOGLE_OAUTH_ACCESS_TOKEN: 'b'}), 'GOOGLE_OAUTH_ACCESS_TOKEN')
    assert.equal(chooseTokenSource({}), undefined)
  })
})

describe('an endpoint override', () => {
  it('is read as gcloud writes it, the API\'s path included', () => {
    assert.deepEqual(parseEndpointOverride('X', 'http://127.0.0.1:8080/compute/v1/', '/compute/v1/'), {host: '127.0.0.1', port: 8080, protocol: 'http'})
    assert.deepEqual(parseEndpointOverride('X', 'https://compute.example.com/compute/v1', '/compute/v1/'), {host: 'compute.example.com', port: 443, protocol: 'https'})
    assert.deepEqual(parseEndpointOverride('X', 'http://127.0.0.1:9/', '/'), {host: '127.0.0.1', port: 9, protocol: 'http'})
  })

  it('with another path, another scheme or no URL at all is bad input naming the variable', () => {
    for (const [value, why] of [['http://127.0.0.1:8080/', /the path must be \/compute\/v1\//], ['ftp://x/compute/v1/', /only http and https/], ['127.0.0.1:8080', /not a URL/]] as const) {
      assert.throws(() => parseEndpointOverride('CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE', value, '/compute/v1/'), (e: unknown) => e instanceof XccError && e.exitCode === 2 && e.message.startsWith('CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=') && why.test(e.message))
    }
  })
})
