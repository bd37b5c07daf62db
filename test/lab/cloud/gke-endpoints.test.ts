/**
 * A lab's GKE API describes each cluster's Kubernetes endpoints as GKE does, and they are real:
 * the public `endpoint`, the private endpoint (`privateClusterConfig.privateEndpoint`, the same
 * API on 127.0.0.2) that `gcloud container clusters get-credentials --internal-ip` writes and kubectl
 * then uses through the auth plugin, the DNS endpoint's name (in the serving certificate; it does
 * not resolve in the lab) and the CA. The cluster's ServiceAccount tokens carry GKE's issuer and
 * are capped at 48 h, or at the topology's `serviceAccountMaxTokenExpiration`.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {connect} from 'node:tls'

import {LabCli} from '../../support/lab-cli.js'
import {requireLabTools} from '../../support/netns.js'
import {CLOUD_TOPOLOGY, type GcloudLab, PROJECT, type RunResult, runTool, sdkSkip, startGcloudLab} from './support.js'

// c-native's tokens are capped at 2 h; c-routes keeps GKE's 48 h
const TOPOLOGY = CLOUD_TOPOLOGY.replace('    masquerade: {disabled: true}\n', '    masquerade: {disabled: true}\n    serviceAccountMaxTokenExpiration: 2h\n')

interface Described {
  endpoint: string
  masterAuth: {clusterCaCertificate: string}
  privateClusterConfig: {privateEndpoint: string; publicEndpoint: string}
  controlPlaneEndpointsConfig: {dnsEndpointConfig: {endpoint: string; allowExternalTraffic: boolean}; ipEndpointsConfig: {privateEndpoint: string; publicEndpoint: string}}
}

/** whether a TLS connection to 127.0.0.1:port, asking for `servername`, verifies against `ca` */
function verifiesAs(port: number, servername: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({host: '127.0.0.1', port, servername, ca, rejectUnauthorized: false}, () => {
      resolve(socket.authorized)
      socket.destroy()
    })
    socket.on('error', () => resolve(false))
  })
}

describe('the GKE endpoints of a lab cluster, and its ServiceAccount tokens', {skip: sdkSkip()}, () => {
  const cli = new LabCli()
  const home = cli.home()
  const lab = cli.lab('gkeep')
  const toolHome = mkdtempSync(join(tmpdir(), 'xcc-gke-endpoints-'))
  let cloud: GcloudLab
  let env: Readonly<Record<string, string>> = {}
  let bin = ''
  const kubectl = (args: readonly string[], extra: Record<string, string> = {}): Promise<RunResult> => runTool(bin, 'kubectl.1.32', args, {...env, ...extra}, {home: toolHome})

  before(() => {
    requireLabTools()
    cloud = startGcloudLab(cli, home, lab, toolHome, TOPOLOGY)
    ;({env, bin} = cloud)
  })
  after(() => {
    cli.cleanup()
    rmSync(toolHome, {recursive: true, force: true})
  })

  it('describe shows the public, private and DNS endpoints and the CA; get-credentials --internal-ip reaches the API on the private one', async () => {
    const d = JSON.parse(await cloud.ok(['container', 'clusters', 'describe', 'c-native', '--location', 'us-west1-a', '--format=json'])) as Described
    const port = /^127\.0\.0\.1:(\d+)$/.exec(d.endpoint)?.[1]
    assert.ok(port, `endpoint ${d.endpoint}`)
    assert.match(d.privateClusterConfig.privateEndpoint, /^127\.0\.0\.2:\d+$/)
    assert.equal(d.privateClusterConfig.publicEndpoint, d.endpoint)
    assert.deepEqual([d.controlPlaneEndpointsConfig.ipEndpointsConfig.publicEndpoint, d.controlPlaneEndpointsConfig.ipEndpointsConfig.privateEndpoint], [d.endpoint, d.privateClusterConfig.privateEndpoint])
    const dns = d.controlPlaneEndpointsConfig.dnsEndpointConfig.endpoint
    assert.match(dns, new RegExp(`^gke-[0-9a-f]{16}-${PROJECT}\\.us-west1\\.gke\\.goog:${port}$`))
    const ca = Buffer.from(d.masterAuth.clusterCaCertificate, 'base64').toString()
    assert.match(ca, /^-----BEGIN CERTIFICATE-----/)
    assert.equal(await verifiesAs(Number(port), dns.replace(/:\d+$/, ''), ca), true, 'the serving certificate is valid for the DNS endpoint\'s name')
    assert.equal(await verifiesAs(Number(port), 'elsewhere.example', ca), false, 'control: not for any name')

    const written = join(toolHome, 'internal.kubeconfig')
    await cloud.ok(['container', 'clusters', 'get-credentials', 'c-native', '--location', 'us-west1-a', '--internal-ip'], {KUBECONFIG: written})
    const kubeconfig = readFileSync(written, 'utf8')
    assert.ok(kubeconfig.includes(`server: https://${d.privateClusterConfig.privateEndpoint}\n`), kubeconfig)
    const nodes = await kubectl(['get', 'nodes', '-o', 'name'], {KUBECONFIG: written})
    assert.equal(nodes.code, 0, nodes.stderr)
    assert.equal(nodes.stdout, 'node/native-node-1\n', 'kubectl verified the private endpoint\'s certificate and got the cluster\'s nodes')
  })

  it('tokens carry GKE\'s issuer; a TokenRequest is capped at the topology\'s maximum (2 h) or GKE\'s 48 h', async () => {
    const claims = (token: string): {iss: string; exp: number; iat: number} => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {iss: string; exp: number; iat: number}
    const token = async (context: string, duration: string): Promise<{iss: string; exp: number; iat: number}> => {
      await kubectl(['--context', context, 'create', 'serviceaccount', 'ci'])
      const made = await kubectl(['--context', context, 'create', 'token', 'ci', `--duration=${duration}`])
      assert.equal(made.code, 0, made.stderr)
      return claims(made.stdout.trim())
    }
    const capped = await token('c-native', '24h')
    assert.equal(capped.exp - capped.iat, 2 * 3600, 'asked 24 h, granted the topology\'s 2 h')
    assert.equal(capped.iss, `https://container.googleapis.com/v1/projects/${PROJECT}/locations/us-west1-a/clusters/c-native`)
    const day = await token('c-routes', '24h')
    assert.equal(day.exp - day.iat, 24 * 3600, 'under GKE\'s cap, as asked')
    const made = await kubectl(['--context', 'c-routes', 'create', 'token', 'ci', '--duration=72h'])
    assert.equal(claims(made.stdout.trim()).exp - claims(made.stdout.trim()).iat, 48 * 3600, 'GKE grants at most 48 h')
  })
})
