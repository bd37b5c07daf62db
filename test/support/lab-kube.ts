/**
 * Talking to a lab's clusters from tests with the real client: an admin client per context, and
 * a kubeconfig for a ServiceAccount without any role (RBAC denies it everything).
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {dump} from 'js-yaml'

export async function adminApi(kubeconfig: string, context: string) {
  const k8s = await import('@kubernetes/client-node')
  const config = new k8s.KubeConfig()
  config.loadFromFile(kubeconfig)
  config.setCurrentContext(context)
  return {k8s, config, core: config.makeApiClient(k8s.CoreV1Api), apps: config.makeApiClient(k8s.AppsV1Api)}
}

/** a kubeconfig (context "limited") for a ServiceAccount of `context` without any role */
export async function limitedKubeconfig(kubeconfig: string, dir: string, context = 'frontend'): Promise<string> {
  const {k8s, config, core} = await adminApi(kubeconfig, context)
  await core.createNamespacedServiceAccount({namespace: 'default', body: {metadata: {name: 'xcc-limited'}}}).catch(() => undefined)
  await core.createNamespacedSecret({namespace: 'default', body: {metadata: {name: 'xcc-limited-token', annotations: {'kubernetes.io/service-account.name': 'xcc-limited'}}, type: 'kubernetes.io/service-account-token'}}).catch(() => undefined)
  let token = ''
  for (let i = 0; i < 50 && !token; i++) {
    const secret = await core.readNamespacedSecret({namespace: 'default', name: 'xcc-limited-token'})
    token = secret.data?.token ? Buffer.from(secret.data.token, 'base64').toString('utf8') : ''
    if (!token) await new Promise((r) => setTimeout(r, 100))
  }
  assert.ok(token, 'the lab issues a ServiceAccount token')
  const cluster = config.getCurrentCluster() as {name: string; server: string; caData?: string}
  const limited = new k8s.KubeConfig()
  limited.loadFromOptions({
    clusters: [{name: context, server: cluster.server, caData: cluster.caData}],
    users: [{name: 'limited', token}],
    contexts: [{name: 'limited', cluster: context, user: 'limited'}],
    currentContext: 'limited',
  })
  const path = join(dir, 'limited.kubeconfig')
  writeFileSync(path, dump(JSON.parse(limited.exportConfig())), {mode: 0o600})
  return path
}
