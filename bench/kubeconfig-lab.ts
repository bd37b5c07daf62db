/**
 * What `xcc kubeconfig generate` talks to, in this process and without root: the lab's emulated
 * GKE API (src/lab/cloud, a one-cluster topology) and the emulated Kubernetes API of that cluster
 * (src/lab/kube, TLS on loopback, its private endpoint on 127.0.0.2, the lab's Google tokens
 * accepted as GKE accepts them), plus the lab's gcloud files and the variables `xcc lab env`
 * prints. No namespaces and no pods: generate reads the cluster and writes RBAC objects only.
 * The servers answer from this process's event loop: run the CLI asynchronously beside them.
 */
import {accessSync, constants, mkdirSync, mkdtempSync, realpathSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {delimiter, dirname, join} from 'node:path'

import {parseTopology} from '../src/core/topology/parse.js'
import {cloudAccount} from '../src/lab/cloud/auth.js'
import {unappliedDataPlane} from '../src/lab/cloud/dataplane-hook.js'
import {cloudEnvironment, writeCloudFiles} from '../src/lab/cloud/lab-files.js'
import {startCloudServer} from '../src/lab/cloud/server.js'
import {CloudStore} from '../src/lab/cloud/store.js'
import {labSerialConsoles} from '../src/lab/compute/serial.js'
import {type KubeObject, LocalProcessRuntime, startKubeApiServer} from '../src/lab/kube/index.js'
import {createCa, issueServerCert} from '../src/lab/runtime/certificates.js'

export const BENCH_PROJECT = 'xcc-kc-bench'
export const BENCH_CLUSTER = 'kc-bench'
export const BENCH_LOCATION = 'us-west1-a'

const TOPOLOGY = `apiVersion: xcc/v1
kind: Topology
metadata: {name: kc-bench, project: ${BENCH_PROJECT}}
networks:
  - name: net-a
    subnets:
      - {name: a-1, region: us-west1, ipCidrRange: 10.10.0.0/24, secondaryIpRanges: [{rangeName: pods, ipCidrRange: 10.64.0.0/16}]}
clusters:
  - name: ${BENCH_CLUSTER}
    location: ${BENCH_LOCATION}
    network: net-a
    subnetwork: a-1
    mode: VPC_NATIVE
    clusterIpv4Cidr: 10.64.0.0/16
    servicesIpv4Cidr: 10.65.0.0/20
    nodes:
      - {name: kc-bench-node-1, networkIP: 10.10.0.2, podCidr: 10.64.0.0/24}
`

const NODE: KubeObject = {
  apiVersion: 'v1', kind: 'Node', metadata: {name: 'kc-bench-node-1', labels: {'kubernetes.io/hostname': 'kc-bench-node-1'}},
  spec: {podCIDR: '10.64.0.0/24', providerID: `gce://${BENCH_PROJECT}/${BENCH_LOCATION}/kc-bench-node-1`},
  status: {addresses: [{type: 'InternalIP', address: '10.10.0.2'}], conditions: [{type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ready'}]},
} as unknown as KubeObject

export interface KubeconfigBenchLab {
  /** the variables of `xcc lab env` (HOME and KUBECONFIG in the lab's directory), the SDK's bin/ first on the PATH */
  readonly env: Record<string, string>
  readonly dir: string
  /** where gke-gcloud-auth-plugin was found, when it was */
  readonly pluginBin?: string
  close(): Promise<void>
}

/** gcloud's SDK bin/ when it holds gke-gcloud-auth-plugin (what `--auth exec` files run) */
function sdkBin(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    try {
      accessSync(join(dir, 'gcloud'), constants.X_OK)
      const bin = dirname(realpathSync(join(dir, 'gcloud')))
      accessSync(join(bin, 'gke-gcloud-auth-plugin'), constants.X_OK)
      return bin
    } catch {
      // not here
    }
  }
  return undefined
}

export async function startKubeconfigBenchLab(): Promise<KubeconfigBenchLab> {
  const dir = mkdtempSync(join(tmpdir(), 'xcc-bench-kc-'))
  const closers: Array<() => Promise<void>> = []
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c().catch(() => undefined)
    rmSync(dir, {recursive: true, force: true})
  }
  try {
    const files = {adminTokenFile: join(dir, 'cloud-admin.token'), viewerTokenFile: join(dir, 'cloud-viewer.token'), gcloudConfig: join(dir, 'gcloud')}
    const tokens = writeCloudFiles(files, BENCH_PROJECT)
    const ca = await createCa('xcc-bench-kc-ca')
    const cert = await issueServerCert(ca, {commonName: 'kube-apiserver', ips: ['127.0.0.1', '127.0.0.2'], dnsNames: ['localhost']})
    const runtime = new LocalProcessRuntime({defaultWorkingDir: dir})
    const logDir = join(dir, 'logs')
    mkdirSync(logDir)
    const kube = await startKubeApiServer({
      clusterName: BENCH_CLUSTER, tls: {key: cert.key, cert: cert.cert, caCert: ca.cert}, extraHosts: ['127.0.0.2'],
      serviceAccounts: {maxTokenExpirationSeconds: 48 * 3600}, runtime, logDir, objects: [NODE],
      // the lab's Google tokens, as GKE accepts them (src/lab/daemon.ts)
      staticTokens: new Map([
        [tokens.admin, {user: cloudAccount(BENCH_PROJECT, 'admin'), groups: ['system:masters']}],
        [tokens.viewer, {user: cloudAccount(BENCH_PROJECT, 'viewer'), groups: []}],
      ]),
    })
    closers.push(async () => {
      await kube.close()
      runtime.killAll()
    })
    const store = new CloudStore({path: join(dir, 'topology.yaml'), model: parseTopology(TOPOLOGY, 'kc-bench.yaml'), hook: unappliedDataPlane(() => undefined), log: () => undefined})
    const cloud = await startCloudServer({
      store, tokens, serial: labSerialConsoles(dir), log: () => undefined,
      endpoints: new Map([[BENCH_CLUSTER, {endpoint: `127.0.0.1:${kube.port}`, ...(kube.extraEndpoints[0] ? {privateEndpoint: kube.extraEndpoints[0]} : {}), caCert: ca.cert}]]),
    })
    closers.push(() => cloud.close())
    const pluginBin = sdkBin()
    const variables = Object.fromEntries(cloudEnvironment({kubeconfig: join(dir, 'kubeconfig'), url: cloud.url, project: BENCH_PROJECT, gcloudConfig: files.gcloudConfig, adminTokenFile: files.adminTokenFile}))
    const env = {...variables, HOME: dir, PATH: `${pluginBin ? `${pluginBin}${delimiter}` : ''}${process.env.PATH ?? '/usr/bin:/bin'}`}
    return {env, dir, ...(pluginBin ? {pluginBin} : {}), close}
  } catch (error) {
    await close()
    throw error
  }
}
