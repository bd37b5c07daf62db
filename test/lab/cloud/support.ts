/**
 * The lab's cloud for tests: a topology with a bit of everything the APIs show (two networks, a
 * VM with a startup script, a routes-based and a VPC-native cluster, GKE-shaped node names), the
 * cloud served in-process on it (no root: no namespaces, the data-plane hook records the changes),
 * and the real gcloud of the machine image, isolated (its own CLOUDSDK_CONFIG and HOME, never the
 * user's). gcloud comes with the machine image, not from a package archive: when it is missing
 * the tests fail loudly in CI (`CI` set) and are skipped, saying why, elsewhere.
 */
import {spawn} from 'node:child_process'
import {accessSync, constants, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {delimiter, dirname, join} from 'node:path'

import {parseTopology} from '../../../src/core/topology/parse.js'
import type {Model} from '../../../src/core/topology/model-types.js'
import {unappliedDataPlane} from '../../../src/lab/cloud/dataplane-hook.js'
import {FaultInjector} from '../../../src/lab/cloud/faults.js'
import {type CloudServer, startCloudServer} from '../../../src/lab/cloud/server.js'
import {CloudStore} from '../../../src/lab/cloud/store.js'
import {labSerialConsoles} from '../../../src/lab/compute/serial.js'
import type {LabCli} from '../../support/lab-cli.js'

export const PROJECT = 'xcc-cloud-test'

export const CLOUD_TOPOLOGY = `apiVersion: xcc/v1
kind: Topology
metadata: {name: cloud-test, project: ${PROJECT}}
networks:
  - name: net-a
    description: the first network
    subnets:
      - {name: a-1, region: us-west1, ipCidrRange: 10.10.0.0/24, secondaryIpRanges: [{rangeName: pods, ipCidrRange: 10.64.0.0/16}]}
  - name: net-b
    subnets:
      - {name: b-1, region: us-east1, ipCidrRange: 10.20.0.0/24}
      - {name: b-2, region: us-west1, ipCidrRange: 10.20.1.0/24}
routes:
  - {name: a-default, network: net-a, destRange: 0.0.0.0/0, nextHopGateway: default-internet-gateway}
firewalls:
  - {name: a-ssh, network: net-a, sourceRanges: [10.0.0.0/8], allowed: [{IPProtocol: tcp, ports: ["22"]}]}
  - {name: b-all-internal, network: net-b, sourceRanges: [10.0.0.0/8], allowed: [{IPProtocol: all}]}
instances:
  - name: vm-1
    zone: us-west1-a
    tags: [web]
    labels: {app: web}
    networkInterfaces: [{network: net-a, subnetwork: a-1, networkIP: 10.10.0.5}]
    metadata: {startup-script: "echo hello from the startup script; ip -o -4 addr show nic0 | tr -s ' '"}
clusters:
  - name: c-routes
    location: us-east1-b
    network: net-b
    subnetwork: b-1
    mode: ROUTES
    clusterIpv4Cidr: 10.100.0.0/16
    servicesIpv4Cidr: 10.101.0.0/20
    nodes:
      - {name: gke-c-routes-default-pool-0a1b2c3d-ab12, networkIP: 10.20.0.2, podCidr: 10.100.0.0/24}
      - {name: gke-c-routes-default-pool-0a1b2c3d-cd34, networkIP: 10.20.0.3, podCidr: 10.100.1.0/24}
  - name: c-native
    location: us-west1-a
    network: net-a
    subnetwork: a-1
    mode: VPC_NATIVE
    clusterIpv4Cidr: 10.64.0.0/16
    servicesIpv4Cidr: 10.65.0.0/20
    masquerade: {disabled: true}
    nodes:
      - {name: native-node-1, networkIP: 10.10.0.2, podCidr: 10.64.0.0/24}
`

export interface TestCloud {
  readonly server: CloudServer
  readonly store: CloudStore
  readonly dir: string
  readonly tokens: {readonly admin: string; readonly viewer: string}
  /** the top-level topology lists each write changed, as the data-plane hook saw them */
  readonly changes: ReadonlyArray<readonly string[]>
  readonly log: string[]
  close(): Promise<void>
}

/** The cloud of CLOUD_TOPOLOGY (or `text`), in this process, on a free port. */
export async function startTestCloud(text = CLOUD_TOPOLOGY, options: {waitLimitMs?: number; applyDelayMs?: number; faults?: boolean; applyFails?: () => string | undefined} = {}): Promise<TestCloud> {
  const dir = mkdtempSync(join(tmpdir(), 'xcc-cloud-'))
  const log: string[] = []
  const unapplied = unappliedDataPlane((m) => log.push(m))
  // a data plane that takes its time keeps each operation RUNNING for applyDelayMs
  const delay = options.applyDelayMs ?? 0
  // and one that fails (applyFails returns why) ends the operation with an error
  const hook = delay > 0 || options.applyFails ? {changes: unapplied.changes, apply: async (before: Model, after: Model) => {
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay))
    const why = options.applyFails?.()
    if (why) throw new Error(why)
    await unapplied.apply(before, after)
  }} : unapplied
  const store = new CloudStore({path: join(dir, 'topology.yaml'), model: parseTopology(text, 'cloud-test.yaml'), hook, log: (m) => log.push(m)})
  const tokens = {admin: 'admin-token-for-tests', viewer: 'viewer-token-for-tests'}
  const server = await startCloudServer({
    store, tokens, serial: labSerialConsoles(dir), log: (m) => log.push(m),
    // tests write <dir>/cloud-faults.json (src/lab/cloud/faults.ts)
    ...(options.faults ? {faults: new FaultInjector(join(dir, 'cloud-faults.json'), (m) => log.push(m))} : {}),
    endpoints: new Map([['c-native', {endpoint: '127.0.0.1:6443', caCert: '-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n'}]]),
    ...(options.waitLimitMs ? {waitLimitMs: options.waitLimitMs} : {}),
  })
  return {
    server, store, dir, tokens, changes: hook.changes, log,
    async close() {
      await server.close()
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    try {
      accessSync(join(dir, command), constants.X_OK)
      return join(dir, command)
    } catch {
      // not here
    }
  }
  return undefined
}

/** gcloud's SDK bin/ (gcloud, kubectl.1.32, gke-gcloud-auth-plugin), or why there is none */
export function findSdk(): {bin: string} | {missing: string} {
  const gcloud = onPath('gcloud')
  if (!gcloud) return {missing: 'gcloud is not on the PATH (it comes with the Google Cloud SDK of the machine image)'}
  const bin = dirname(realpathSync(gcloud))
  for (const tool of ['kubectl.1.32', 'gke-gcloud-auth-plugin']) {
    try {
      accessSync(join(bin, tool), constants.X_OK)
    } catch {
      return {missing: `${join(bin, tool)} is missing (install the SDK's component)`}
    }
  }
  return {bin}
}

/** For `describe(…, {skip: sdkSkip()})`: false when the SDK is there; in CI a missing SDK throws. */
export function sdkSkip(): false | string {
  const found = findSdk()
  if ('bin' in found) return false
  if (process.env.CI) throw new Error(`gcloud tests cannot run in CI: ${found.missing}`)
  return `the Google Cloud SDK was not found, so the real-gcloud tests are skipped: ${found.missing}`
}

export interface RunResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command of the SDK with exactly `env` (plus PATH with the SDK first and an isolated HOME), bounded in time. */
export function runTool(bin: string, command: string, args: readonly string[], env: Readonly<Record<string, string>>, options: {timeoutMs?: number; home: string}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(bin, command), args, {
      env: {PATH: `${bin}${delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: options.home, CLOUDSDK_CORE_DISABLE_PROMPTS: '1', ...env},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({code, stdout, stderr})
    })
  })
}

/** A lab (of CLOUD_TOPOLOGY, or another topology) built by `xcc lab up`, with the settings `xcc lab env` prints, for real gcloud. */
export interface GcloudLab {
  /** the lab's directory */
  readonly dir: string
  /** what `xcc lab env --json` printed */
  readonly env: Readonly<Record<string, string>>
  readonly toolHome: string
  readonly bin: string
  gcloud(args: readonly string[], extra?: Record<string, string>): Promise<RunResult>
  /** gcloud that must exit 0; its stdout */
  ok(args: readonly string[], extra?: Record<string, string>): Promise<string>
  /** the lab's topology as its cloud API last wrote it */
  topology(): Model
}

/** Builds the lab of `text` (a topology of project PROJECT; call from `before`); `cli.cleanup()` and `rmSync(toolHome)` take it down. */
export function startGcloudLab(cli: LabCli, home: string, lab: string, toolHome: string, text = CLOUD_TOPOLOGY): GcloudLab {
  const sdk = findSdk()
  if (!('bin' in sdk)) throw new Error(sdk.missing)
  const file = join(home, 'cloud-test.yaml')
  writeFileSync(file, text)
  const up = cli.run(home, ['lab', 'up', '--topology', file, '--name', lab, '--json'])
  if (up.status !== 0) throw new Error(`lab up: ${up.stderr}`)
  const view = JSON.parse(up.stdout) as {kubeconfig: string; cloud: {url: string; project: string}}
  if (view.cloud.project !== PROJECT) throw new Error(`the lab's project is ${view.cloud.project}`)
  const dir = dirname(view.kubeconfig)
  const printed = cli.run(home, ['lab', 'env', '--name', lab, '--json'])
  if (printed.status !== 0) throw new Error(`lab env: ${printed.stderr}`)
  const env = (JSON.parse(printed.stdout) as {variables: Record<string, string>}).variables
  const gcloud = (args: readonly string[], extra: Record<string, string> = {}): Promise<RunResult> => runTool(sdk.bin, 'gcloud', args, {...env, ...extra}, {home: toolHome})
  return {
    dir, env, toolHome, bin: sdk.bin, gcloud,
    async ok(args, extra = {}) {
      const r = await gcloud(args, extra)
      if (r.code !== 0) throw new Error(`gcloud ${args.join(' ')} exited ${r.code}:\n${r.stderr}`)
      return r.stdout
    },
    topology: () => parseTopology(readFileSync(join(dir, 'topology.yaml'), 'utf8'), 'topology.yaml'),
  }
}
