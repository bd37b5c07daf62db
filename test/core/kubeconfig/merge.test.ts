/**
 * src/core/kubeconfig/merge.ts (--merge) and legacy.ts: the new entries are added as text, so what
 * the file held stays byte for byte (kubectl's layout, indented lists, comments); current-context
 * changes only with --use-context; a name already there is refused without --force; and legacy
 * users (client certificates on GKE, auth-provider gcp, basic auth) are found with the command
 * that replaces them.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {load} from 'js-yaml'

import type {KubeconfigEntry} from '../../../src/core/kubeconfig/document.js'
import {findLegacyAuth} from '../../../src/core/kubeconfig/legacy.js'
import {mergeKubeconfig} from '../../../src/core/kubeconfig/merge.js'
import {assertBadInput} from '../../support/xcc-error.js'

const KUBECTL_FILE = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: QUJD
    server: https://10.0.0.1
  name: one
- cluster:
    insecure-skip-tls-verify: true
    server: https://10.0.0.2:6443
  name: two
contexts:
- context:
    cluster: one
    namespace: shop
    user: one
  name: one
- context:
    cluster: two
    user: two
  name: two
current-context: two
kind: Config
preferences: {}
users:
- name: one
  user:
    token: abc
- name: two
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args: null
      command: gke-gcloud-auth-plugin
      env: null
      installHint: Install gke-gcloud-auth-plugin for use with kubectl by following
        https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin
      interactiveMode: IfAvailable
      provideClusterInfo: true
`

const entry: KubeconfigEntry = {context: 'new', endpoint: {server: 'https://127.0.0.1:6443', caData: 'Q0E='}, user: {kind: 'token', token: 'secret-token', expires: '2026-12-08T00:00:00Z', source: 'test'}}
const opts = {force: false, useContext: false, path: 'config'}

/** every line of `before` is in `after`, in order (the new lines are only added) */
function keptInOrder(before: string, after: string): void {
  const lines = after.split('\n')
  let at = 0
  for (const line of before.replace(/\n$/, '').split('\n')) {
    const found = lines.indexOf(line, at)
    assert.ok(found >= 0, `line ${JSON.stringify(line)} is kept`)
    at = found + 1
  }
}

describe('mergeKubeconfig', () => {
  it('adds the entries as text: the old lines stay as they were (even gcloud\'s folded installHint), current-context unchanged', () => {
    const merged = mergeKubeconfig(KUBECTL_FILE, entry, opts)
    assert.equal(merged.preserved, true)
    keptInOrder(KUBECTL_FILE, merged.text)
    const doc = load(merged.text) as {contexts: Array<{name: string}>; 'current-context': string; users: Array<{name: string; user: {token?: string}}>}
    assert.deepEqual(doc.contexts.map((c) => c.name), ['one', 'two', 'new'])
    assert.equal(doc['current-context'], 'two')
    assert.equal(merged.currentContext, 'two')
    assert.equal(doc.users.at(-1)?.user.token, 'secret-token')
    const old = load(KUBECTL_FILE) as Record<string, unknown[]>
    for (const key of ['clusters', 'contexts', 'users']) assert.deepEqual((doc as unknown as Record<string, unknown[]>)[key]?.slice(0, 2), old[key])
  })
  it('--use-context sets current-context, and only that line changes', () => {
    const merged = mergeKubeconfig(KUBECTL_FILE, entry, {...opts, useContext: true})
    assert.equal((load(merged.text) as Record<string, unknown>)['current-context'], 'new')
    keptInOrder(KUBECTL_FILE.replace('current-context: two', 'current-context: new'), merged.text)
  })
  it('keeps indented lists indented, and comments', () => {
    const text = '# my clusters\napiVersion: v1\nkind: Config\nclusters:\n  - name: a\n    cluster: {server: "https://a"}\n\n# users below\nusers: []\ncontexts:\n  - name: a\n    context: {cluster: a, user: a}\n'
    const merged = mergeKubeconfig(text, entry, opts)
    assert.equal(merged.preserved, true)
    keptInOrder(text.replace('users: []', 'users:'), merged.text)
    assert.match(merged.text, /\n {2}- cluster:\n {6}certificate-authority-data: Q0E=\n/)
  })
  it('a name already there is exit 2 naming it; --force replaces it (the file written again)', () => {
    const taken = mergeKubeconfig(KUBECTL_FILE, entry, opts).text
    assertBadInput(() => mergeKubeconfig(taken, entry, opts), /already has cluster "new", context "new", user "new"/)
    const again = mergeKubeconfig(taken, {...entry, endpoint: {server: 'https://127.0.0.1:7443'}}, {...opts, force: true})
    assert.deepEqual(again.replaced, ['cluster "new"', 'context "new"', 'user "new"'])
    const doc = load(again.text) as {clusters: Array<{name: string; cluster: {server: string}}>}
    assert.deepEqual(doc.clusters.map((c) => `${c.name} ${c.cluster.server}`), ['one https://10.0.0.1', 'two https://10.0.0.2:6443', 'new https://127.0.0.1:7443'])
  })
  it('a file that does not exist (or is empty) becomes a kubeconfig without a current-context; JSON is rewritten as YAML', () => {
    const fresh = mergeKubeconfig(undefined, entry, opts)
    assert.equal((load(fresh.text) as Record<string, unknown>)['current-context'], undefined)
    assert.equal((load(mergeKubeconfig('', entry, {...opts, useContext: true}).text) as Record<string, unknown>)['current-context'], 'new')
    const json = mergeKubeconfig(JSON.stringify(load(KUBECTL_FILE)), entry, opts)
    assert.equal(json.preserved, false)
    assert.equal((load(json.text) as {contexts: unknown[]}).contexts.length, 3)
  })
  it('what is not a kubeconfig is exit 2', () => {
    assertBadInput(() => mergeKubeconfig('- a\n', entry, opts), /not a kubeconfig/)
    assertBadInput(() => mergeKubeconfig('clusters: 3\n', entry, opts), /clusters is not a list/)
    assertBadInput(() => mergeKubeconfig('a: [', entry, opts), /not valid YAML/)
  })
})

describe('findLegacyAuth', () => {
  const file = `apiVersion: v1
clusters:
- {name: gw, cluster: {server: "https://34.1.2.3"}}
- {name: other, cluster: {server: "https://k8s.example.com"}}
contexts:
- {name: gw-nginx, context: {cluster: gw, user: cert}}
- {name: gke_p1_us-east1-b_c9, context: {cluster: other, user: gcp}}
- {name: home, context: {cluster: other, user: basic}}
- {name: home-cert, context: {cluster: other, user: cert}}
users:
- {name: cert, user: {client-certificate-data: QQ==, client-key-data: QQ==}}
- {name: gcp, user: {auth-provider: {name: gcp, config: {cmd-path: gcloud}}}}
- {name: basic, user: {username: admin, password: pw}}
`
  it('client certificates on a GKE cluster, auth-provider gcp, basic auth; each with its replacement', () => {
    const found = findLegacyAuth('/k/config', file, ['https://34.1.2.3'], {project: 'p0', location: 'europe-west1', cluster: 'gw'})
    assert.deepEqual(found.map((f) => [f.context, f.kind]), [['gw-nginx', 'client-certificate'], ['gke_p1_us-east1-b_c9', 'auth-provider-gcp'], ['home', 'basic-auth']])
    assert.equal(found[0]?.replacement, 'xcc kubeconfig generate --cluster gw --location europe-west1 --project p0 --auth service-account --context-name gw-nginx --merge --force')
    assert.equal(found[1]?.replacement, 'xcc kubeconfig generate --cluster c9 --location us-east1-b --project p1 --auth exec --context-name gke_p1_us-east1-b_c9 --merge --force')
    assert.deepEqual(findLegacyAuth('/k/config', 'not: [yaml', []), [])
  })
})
