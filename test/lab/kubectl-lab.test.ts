/**
 * The real kubectl (the Google Cloud SDK's versioned kubectl.1.32, not its dispatcher) against a
 * lab built by `xcc lab up`: nodes and pods of the topology, `apply -f` of a pod that runs `nc`
 * and `curl` inside the lab's network, `wait --for=jsonpath`, `logs`, `delete`. The pod's traffic
 * is the seed's: to the peered load balancer it hangs, to its own node's pod it works.
 */
import assert from 'node:assert/strict'
import {type SpawnSyncReturns, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {requireLabTools} from '../support/netns.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const HOME = mkdtempSync(join(tmpdir(), 'xcc-kubectl-'))
const LAB = `kl${process.pid}`

/** gcloud's SDK bin/ holds the versioned kubectl binaries (ecosystem.md); null when absent. */
function kubectlBinary(): string | null {
  const which = spawnSync('sh', ['-c', 'command -v gcloud'], {encoding: 'utf8'}).stdout.trim()
  if (!which) return null
  const candidate = join(dirname(realpathSync(which)), 'kubectl.1.32')
  return existsSync(candidate) ? candidate : null
}

const KUBECTL = kubectlBinary()
const why = 'kubectl.1.32 (Google Cloud SDK, beside gcloud) is not installed'

describe('kubectl against a lab cluster', {skip: !KUBECTL && !process.env.CI ? `${why}: skipped outside CI` : false}, () => {
  let kubeconfig = ''
  const kubectl = (args: readonly string[], input?: string): SpawnSyncReturns<string> =>
    spawnSync(KUBECTL as string, ['--kubeconfig', kubeconfig, '--context', 'frontend', ...args], {encoding: 'utf8', input, timeout: 30_000})

  before(() => {
    assert.ok(KUBECTL, `${why}: CI must have it`)
    requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl'], ['nc', ['-h'], 'netcat-openbsd']])
    const up = spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), 'lab', 'up', '--scenario', 'peered-vpcs-missing-snat', '--name', LAB, '--json'], {encoding: 'utf8', env: {...process.env, XCC_HOME: HOME}, timeout: 60_000})
    assert.equal(up.status, 0, up.stderr)
    kubeconfig = (JSON.parse(up.stdout) as {kubeconfig: string}).kubeconfig
  })
  after(() => {
    spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), 'lab', 'down', '--name', LAB], {env: {...process.env, XCC_HOME: HOME}, timeout: 60_000})
    rmSync(HOME, {recursive: true, force: true})
  })

  it('get nodes', () => {
    const r = kubectl(['get', 'nodes', '-o', 'wide'])
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /gke-frontend-cluster-default-pool-d65237bb-1c6s\s+Ready\s/)
    assert.match(r.stdout, /10\.209\.0\.2/)
  })

  it('get pods -A', () => {
    const r = kubectl(['get', 'pods', '-A', '-o', 'wide'])
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /default\s+curl\s+1\/1\s+Running\s+0\s+\S+\s+10\.132\.0\.10\s+gke-frontend/)
  })

  it('apply -f a pod that runs nc and curl, wait for it, read its logs, delete it', () => {
    const manifest = `apiVersion: v1
kind: Pod
metadata: {name: probe, labels: {app: probe}}
spec:
  restartPolicy: Never
  containers:
  - name: probe
    image: curlimages/curl
    command: [sh, -c, 'nc -z -w 2 10.193.0.3 32191; echo "nc-ilb=$?"; curl -sS -m 2 http://10.132.0.10:80/ | grep client_address; echo done']
`
    const file = join(HOME, 'probe.yaml')
    writeFileSync(file, manifest)
    const applied = kubectl(['apply', '-f', file])
    assert.equal(applied.status, 0, applied.stderr)
    assert.match(applied.stdout, /pod\/probe created/)
    const waited = kubectl(['wait', '--for=jsonpath={.status.phase}=Succeeded', 'pod/probe', '--timeout=20s'])
    assert.equal(waited.status, 0, waited.stderr)
    const logs = kubectl(['logs', 'probe'])
    assert.equal(logs.status, 0, logs.stderr)
    assert.match(logs.stdout, /nc-ilb=1/, 'the SYN to the peered load balancer is never answered (seed 001)')
    assert.match(logs.stdout, /client_address=10\.132\.0\.\d+/, 'a pod of the same node answers with the probe\'s own address')
    assert.match(logs.stdout, /done/)
    const deleted = kubectl(['delete', 'pod', 'probe', '--timeout=20s'])
    assert.equal(deleted.status, 0, deleted.stderr)
    const gone = kubectl(['get', 'pod', 'probe'])
    assert.equal(gone.status, 1)
    assert.match(gone.stderr, /NotFound|not found/)
  })
})
