/**
 * Who a lab pod's process is on the host (issue 13, privilege): pods created through a lab's API
 * run as their securityContext says — runAsUser/runAsGroup (container over pod), the capabilities
 * they add and nothing else, no_new_privs with allowPrivilegeEscalation=false — as nobody when
 * they say nothing, and the lab refuses what would make a pod host root (uid 0, group 0, host
 * accounts, capabilities beyond NET_BIND_SERVICE) outside namespaces at the Pod Security level
 * "privileged". Through the built CLI and the real client, as root, against a real lab.
 */
import assert from 'node:assert/strict'
import {chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {LabCli, ROOT} from '../support/lab-cli.js'
import {adminApi} from '../support/lab-kube.js'
import {requireLabTools} from '../support/netns.js'

const RESTRICTED = {allowPrivilegeEscalation: false, capabilities: {drop: ['ALL']}}
const RESTRICTED_POD = {runAsNonRoot: true, seccompProfile: {type: 'RuntimeDefault'}}

interface Outcome {
  phase?: string
  log: string
  message?: string
  waiting?: {reason?: string; message?: string}
}

describe('lab pods: their identity and capabilities on the host', () => {
  requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl'], ['openssl', ['version'], 'openssl'], ['setpriv', ['--version'], 'util-linux']])
  assert.ok(existsSync(join(ROOT, 'dist/commands/lab/up.js')), 'dist/ is missing: run npm run build (npm test does it)')
  const cli = new LabCli()
  const home = cli.home()
  const lab = cli.lab('id')
  const kubeconfig = join(home, 'labs', lab, 'kubeconfig')
  // a directory only root may write: a pod that is not root must not create files in it
  const rootDir = mkdtempSync(join(tmpdir(), 'xcc-fx-rootdir-'))
  chmodSync(rootDir, 0o755)
  let api: Awaited<ReturnType<typeof adminApi>>

  before(async () => {
    const up = cli.run(home, ['lab', 'up', '--scenario', 'vpc-native-pair-works', '--name', lab])
    assert.equal(up.status, 0, up.stderr)
    api = await adminApi(kubeconfig, 'a')
    const namespace = (name: string, level?: string) => api.core.createNamespace({body: {metadata: {name, ...(level ? {labels: {'pod-security.kubernetes.io/enforce': level}} : {})}}})
    await namespace('locked', 'restricted')
    await namespace('base', 'baseline')
  })
  after(() => {
    cli.cleanup()
    rmSync(rootDir, {recursive: true, force: true})
  })

  /** creates the pod, waits until it ended or cannot start, and returns what it did */
  async function runPod(namespace: string, name: string, spec: Record<string, unknown>, script: string): Promise<Outcome> {
    const containers = [{name: 'c', image: 'busybox', command: ['sh', '-c', script], ...spec.container as object}]
    await api.core.createNamespacedPod({namespace, body: {metadata: {name}, spec: {restartPolicy: 'Never', ...(spec.pod as object), containers}}})
    const deadline = Date.now() + 20_000
    while (Date.now() < deadline) {
      const pod = await api.core.readNamespacedPod({namespace, name})
      const status = pod.status?.containerStatuses?.[0]
      const waiting = status?.state?.waiting
      if (waiting?.reason === 'CreateContainerConfigError') return {phase: pod.status?.phase, log: '', waiting}
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') {
        const log = await api.core.readNamespacedPodLog({namespace, name})
        return {phase: pod.status.phase, log: String(log), ...(status?.state?.terminated?.message ? {message: status.state.terminated.message} : {})}
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`pod ${namespace}/${name} did not end within 20 s`)
  }

  const PROBE = [
    'echo uid=$(id -u) gid=$(id -g) groups=$(id -G | tr " " ,)',
    `touch ${rootDir}/owned 2>/dev/null && echo root-dir=written || echo root-dir=denied`,
    'cat /etc/shadow >/dev/null 2>&1 && echo shadow=read || echo shadow=denied',
    'grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status',
    '[ -n "$HOME" ] && touch "$HOME/mine" && echo home=writable || echo home=not-writable',
    'echo cwd=$(pwd)',
  ].join('; ')

  it('a pod that passes restricted (runAsUser 65534, all dropped) is nobody: no root-owned writes, no capabilities, no_new_privs', async () => {
    const out = await runPod('locked', 'nobody', {pod: {securityContext: {...RESTRICTED_POD, runAsUser: 65534}}, container: {securityContext: RESTRICTED}}, PROBE)
    assert.equal(out.phase, 'Succeeded', out.log)
    assert.match(out.log, /^uid=65534 gid=65534 groups=65534$/m)
    assert.match(out.log, /^root-dir=denied$/m)
    assert.equal(existsSync(join(rootDir, 'owned')), false, 'nothing was written in the root-owned directory')
    assert.match(out.log, /^shadow=denied$/m)
    assert.match(out.log, /^CapEff:\s+0+$/m)
    assert.match(out.log, /^CapBnd:\s+0+$/m)
    assert.match(out.log, /^NoNewPrivs:\s+1$/m)
    assert.match(out.log, /^home=writable$/m, 'its HOME is a directory of its own')
    assert.doesNotMatch(out.log, /^cwd=\/$/m, 'it does not start in /')
  })

  it('container settings win over the pod\'s; supplementalGroups are its groups', async () => {
    const out = await runPod('locked', 'merged', {
      pod: {securityContext: {...RESTRICTED_POD, runAsUser: 65534, runAsGroup: 65534, supplementalGroups: [65531]}},
      container: {securityContext: {...RESTRICTED, runAsUser: 65533, runAsGroup: 65532}},
    }, 'echo uid=$(id -u) gid=$(id -g) groups=$(id -G | tr " " ,)')
    assert.equal(out.phase, 'Succeeded', out.log)
    assert.match(out.log, /^uid=65533 gid=65532 groups=65532,65531$/m)
  })

  it('a pod that says nothing runs as nobody (65534) with no capabilities, and may write its termination message', async () => {
    const out = await runPod('default', 'plain', {}, `${PROBE}; printf 'done as %s' "$(id -u)" > "$XCC_TERMINATION_MESSAGE_PATH"`)
    assert.equal(out.phase, 'Succeeded', out.log)
    assert.match(out.log, /^uid=65534 gid=65534 /m)
    assert.match(out.log, /^root-dir=denied$/m)
    assert.match(out.log, /^CapEff:\s+0+$/m)
    assert.match(out.log, /^NoNewPrivs:\s+0$/m, 'allowPrivilegeEscalation is not false')
    assert.equal(out.message, 'done as 65534')
  })

  it('NET_ADMIN: iptables works in the pod\'s own namespace, still as nobody; without it iptables fails', async () => {
    const script = 'echo uid=$(id -u); grep ^CapEff /proc/self/status; iptables -t filter -A INPUT -p tcp --dport 1 -j DROP && iptables-save -t filter | grep -c "dport 1"'
    const admin = await runPod('default', 'netadmin', {container: {securityContext: {capabilities: {add: ['NET_ADMIN']}}}}, script)
    assert.equal(admin.phase, 'Succeeded', admin.log)
    assert.match(admin.log, /^1$/m)
    assert.match(admin.log, /^uid=65534$/m)
    assert.match(admin.log, /^CapEff:\s+0+1000$/m, 'NET_ADMIN (bit 12) and nothing else')
    const none = await runPod('default', 'nocaps', {}, script)
    assert.equal(none.phase, 'Failed', none.log)
    assert.match(none.log, /Permission denied|you must be root/)
  })

  it('privileged in a privileged namespace: root with every capability (as a privileged pod is node root)', async () => {
    const out = await runPod('default', 'privileged', {container: {securityContext: {privileged: true}}}, 'echo uid=$(id -u); grep ^CapEff /proc/self/status')
    assert.equal(out.phase, 'Succeeded', out.log)
    assert.match(out.log, /^uid=0$/m)
    assert.doesNotMatch(out.log, /^CapEff:\s+0+$/m)
    const user = await runPod('default', 'privileged-user', {container: {securityContext: {privileged: true, runAsUser: 65533}}}, 'echo uid=$(id -u); grep ^CapEff /proc/self/status')
    assert.equal(user.phase, 'Succeeded', user.log)
    assert.match(user.log, /^uid=65533$/m)
    assert.doesNotMatch(user.log, /^CapEff:\s+0+$/m, 'privileged: every capability the lab has, as ambient capabilities')
  })

  it('the pod\'s environment never reaches a root process: a PATH to a fake ip and setpriv runs neither', async () => {
    const evil = mkdtempSync(join(tmpdir(), 'xcc-fx-evil-'))
    try {
      chmodSync(evil, 0o777)
      for (const [tool, real] of [['ip', '/usr/sbin/ip'], ['setpriv', '/usr/bin/setpriv']] as const) {
        writeFileSync(join(evil, tool), `#!/bin/sh\nid -u > ${evil}/ran-${tool}\nexec ${real} "$@"\n`, {mode: 0o755})
      }
      const path = `${evil}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`
      const out = await runPod('locked', 'path', {pod: {securityContext: {...RESTRICTED_POD, runAsUser: 65534}}, container: {securityContext: RESTRICTED, env: [{name: 'PATH', value: path}]}}, 'echo path=$PATH; id -u')
      assert.equal(out.phase, 'Succeeded', out.log)
      assert.match(out.log, new RegExp(`^path=${path}$`, 'm'), 'the command still gets its PATH')
      assert.deepEqual(readdirSync(evil).filter((f) => f.startsWith('ran-')), [], 'no fake tool ran')
    } finally {
      rmSync(evil, {recursive: true, force: true})
    }
  })

  it('the environment arrives intact: quotes, newlines, $ and backquotes unexpanded, names a shell cannot hold, workingDir', async () => {
    const value = 'it\'s "x"\nline2 $HOME `id` \\'
    const out = await runPod('default', 'env', {container: {workingDir: '/tmp', env: [{name: 'QUOTED', value}, {name: 'dotted.name', value: 'v=1'}]}}, 'printf "<%s>\\n" "$QUOTED"; tr "\\0" "\\n" < /proc/$$$$/environ | grep ^dotted; pwd; [ -n "$HOME" ] && echo home-set')
    assert.equal(out.phase, 'Succeeded', out.log)
    assert.ok(out.log.includes(`<${value}>\n`), out.log)
    assert.match(out.log, /^dotted\.name=v=1$/m)
    assert.match(out.log, /^\/tmp$/m)
    assert.match(out.log, /^home-set$/m)
  })

  it('outside privileged namespaces: uid 0, a host account, a host group or CHOWN do not start (CreateContainerConfigError)', async () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['root', {securityContext: {runAsUser: 0}}, /uid 0/],
      ['account', {securityContext: {runAsUser: 1}}, /uid 1 is the host account daemon/],
      ['group', {securityContext: {runAsUser: 65533, runAsGroup: 6}}, /gid 6 is the host group disk/],
      ['chown', {securityContext: {runAsUser: 65533, capabilities: {add: ['CHOWN']}}}, /capability CHOWN/],
    ]
    for (const [name, container, reason] of cases) {
      const out = await runPod('base', name, {container}, `touch ${rootDir}/${name}; id -u`)
      assert.equal(out.waiting?.reason, 'CreateContainerConfigError', `${name}: ${out.log}`)
      assert.match(out.waiting?.message ?? '', reason)
      assert.match(out.waiting?.message ?? '', /"privileged"/)
      assert.equal(existsSync(join(rootDir, name)), false)
    }
    // restricted admits a host group: the lab still refuses it
    const disk = await runPod('locked', 'disk', {pod: {securityContext: {...RESTRICTED_POD, runAsUser: 65533, runAsGroup: 6}}, container: {securityContext: RESTRICTED}}, 'id')
    assert.equal(disk.waiting?.reason, 'CreateContainerConfigError')
  })
})
