/**
 * Who a lab container is on the host (controllers/security.ts) and the setpriv options that make
 * it so (runtime/pod-runtime.ts), without running anything: securityContext merging, the
 * defaults (nobody, no capabilities), the refusals outside privileged namespaces.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {CAPABILITIES, containerIdentity, parseAccounts} from '../../../src/lab/kube/controllers/security.js'
import {ContainerConfigError} from '../../../src/lab/kube/controllers/pod-env.js'
import type {Level} from '../../../src/lab/kube/podsecurity/checks.js'
import type {Container, Pod} from '../../../src/lab/kube/types.js'
import {ownCapabilities, setprivArgs, shellEnv} from '../../../src/lab/runtime/pod-runtime.js'

const accounts = parseAccounts('root:x:0:0::/root:/bin/sh\ndaemon:x:1:1::/:/bin/false\nalice:x:1000:1000::/home/alice:/bin/sh\nodd:x:1200:4321::/:/bin/false\nnobody:x:65534:65534::/:/bin/false\n', 'root:x:0:\ndisk:x:6:\nalice:x:1000:\nnogroup:x:65534:\n')

function identity(container: Record<string, unknown>, podSpec: Record<string, unknown> = {}, level: Level = 'privileged') {
  const c = {name: 'c', ...container} as Container
  const pod = {metadata: {name: 'p', namespace: 'ns'}, spec: {containers: [c], ...podSpec}} as Pod
  return containerIdentity(pod, c, {level, accounts})
}

function refusal(container: Record<string, unknown>, podSpec: Record<string, unknown> = {}, level: Level = 'baseline'): string {
  try {
    identity(container, podSpec, level)
  } catch (error) {
    assert.ok(error instanceof ContainerConfigError, String(error))
    return error.message
  }
  throw new Error('the container was allowed')
}

describe('lab containers: identity', () => {
  it('says nothing: nobody, nogroup, no groups, no capabilities, privilege escalation allowed', () => {
    assert.deepEqual(identity({}), {uid: 65534, gid: 65534, groups: [], capabilities: [], privileged: false, noNewPrivileges: false})
  })

  it('the container wins over the pod; groups are supplementalGroups and fsGroup; the user\'s group follows the user', () => {
    const id = identity({securityContext: {runAsUser: 2001, allowPrivilegeEscalation: false}}, {securityContext: {runAsUser: 2000, runAsGroup: 3000, supplementalGroups: [4000, 4001], fsGroup: 4002}})
    assert.deepEqual(id, {uid: 2001, gid: 3000, groups: [4000, 4001, 4002], capabilities: [], privileged: false, noNewPrivileges: true})
    assert.equal(identity({securityContext: {runAsUser: 0}}).gid, 0, 'root\'s group is root\'s')
    assert.equal(identity({securityContext: {runAsUser: 2000}}).gid, 65534)
  })

  it('capabilities: only those added (CAP_ prefix and case ignored); ALL minus those dropped; privileged is root with all', () => {
    assert.deepEqual(identity({securityContext: {capabilities: {add: ['cap_net_raw', 'NET_ADMIN'], drop: ['ALL']}}}).capabilities, ['NET_ADMIN', 'NET_RAW'])
    assert.deepEqual(identity({securityContext: {capabilities: {add: ['ALL'], drop: ['SYS_ADMIN']}}}).capabilities, CAPABILITIES.filter((c) => c !== 'SYS_ADMIN'))
    const privileged = identity({securityContext: {privileged: true, allowPrivilegeEscalation: true}})
    assert.deepEqual([privileged.uid, privileged.gid, privileged.capabilities.length, privileged.noNewPrivileges], [0, 0, CAPABILITIES.length, false])
    assert.match(refusal({securityContext: {capabilities: {add: ['FLY']}}}, {}, 'privileged'), /unknown capability "FLY"/)
  })

  it('runAsNonRoot with uid 0 does not start, as on a real kubelet', () => {
    assert.match(refusal({securityContext: {privileged: true}}, {securityContext: {runAsNonRoot: true}}, 'privileged'), /runAsNonRoot and image will run as root/)
  })

  it('ids of the wrong type do not start (the API server refuses them before)', () => {
    assert.match(refusal({securityContext: {runAsUser: '0'}}, {}, 'privileged'), /runAsUser must be an integer/)
    assert.match(refusal({}, {securityContext: {supplementalGroups: [-1]}}, 'privileged'), /supplementalGroups\[0\] must be an integer/)
  })

  it('outside privileged namespaces: no host root, no host accounts or groups, only NET_BIND_SERVICE and AUDIT_WRITE', () => {
    assert.match(refusal({securityContext: {runAsUser: 0}}), /may not run with uid 0 \(root\), gid 0 \(root\) in namespace "ns" \(Pod Security level "baseline"\).*level "privileged"/)
    assert.match(refusal({securityContext: {runAsUser: 1000}}), /uid 1000 is the host account alice/)
    assert.match(refusal({securityContext: {runAsUser: 2000, runAsGroup: 6}}, {}, 'restricted'), /gid 6 is the host group disk/)
    assert.match(refusal({}, {securityContext: {supplementalGroups: [4321]}}), /gid 4321 is the host group odd's primary group/)
    assert.match(refusal({securityContext: {capabilities: {add: ['CHOWN', 'NET_BIND_SERVICE', 'DAC_OVERRIDE']}}}), /capabilities CHOWN, DAC_OVERRIDE in/)
    assert.match(refusal({securityContext: {privileged: true}}), /privileged, uid 0 \(root\), gid 0 \(root\), capabilities/)
    assert.match(refusal({}, {hostNetwork: true}), /with hostNetwork in/)
    assert.deepEqual(identity({securityContext: {runAsUser: 65534, capabilities: {add: ['NET_BIND_SERVICE']}}}, {}, 'restricted').capabilities, ['NET_BIND_SERVICE'])
    assert.equal(identity({securityContext: {runAsUser: 2000}}, {}, 'restricted').uid, 2000, 'an id the host does not use is fine')
    assert.equal(identity({securityContext: {runAsUser: 1000}}, {}, 'privileged').uid, 1000, 'a privileged namespace may ask for anything')
  })
})

describe('lab containers: setpriv options', () => {
  const all = new Set(CAPABILITIES)
  it('a user with capabilities: inheritable, bounding and ambient sets hold exactly them; no_new_privs when asked', () => {
    assert.deepEqual(setprivArgs({uid: 65534, gid: 65534, groups: [], capabilities: ['NET_ADMIN', 'NET_RAW'], privileged: false, noNewPrivileges: true}, all), [
      '--reuid=65534', '--regid=65534', '--clear-groups',
      '--inh-caps=-all,+net_admin,+net_raw', '--bounding-set=-all,+net_admin,+net_raw', '--ambient-caps=-all,+net_admin,+net_raw', '--no-new-privs',
    ])
  })

  it('root with capabilities: the bounding set decides (no ambient set); a privileged root is left alone; groups', () => {
    assert.deepEqual(setprivArgs({uid: 0, gid: 0, groups: [5, 6], capabilities: ['NET_ADMIN'], privileged: false, noNewPrivileges: false}, all), [
      '--reuid=0', '--regid=0', '--groups=5,6', '--inh-caps=-all,+net_admin', '--bounding-set=-all,+net_admin',
    ])
    assert.deepEqual(setprivArgs({uid: 0, gid: 0, groups: [], capabilities: [...CAPABILITIES], privileged: true, noNewPrivileges: false}, all), ['--reuid=0', '--regid=0', '--clear-groups'])
  })

  it('capabilities the lab itself lacks are not asked for; CapBnd is read bit by bit', () => {
    const own = ownCapabilities('Name:\tnode\nCapBnd:\t0000000000003001\n')
    assert.deepEqual([...own], ['CHOWN', 'NET_ADMIN', 'NET_RAW'])
    assert.deepEqual(setprivArgs({uid: 1, gid: 1, groups: [], capabilities: ['CHOWN', 'SYS_ADMIN'], privileged: true, noNewPrivileges: false}, own).slice(3), [
      '--inh-caps=-all,+chown', '--bounding-set=-all,+chown', '--ambient-caps=-all,+chown',
    ])
  })
})

describe('lab containers: the environment, handed over as the pod\'s user', () => {
  it('shell variables as single-quoted exports; other names as env(1) assignments', () => {
    assert.deepEqual(shellEnv({A: "it's", B_2: '$x `y`\n', 'a.b': 'v=1'}), {script: "export A='it'\\''s'\nexport B_2='$x `y`\n'\n", env: ['a.b=v=1']})
    assert.deepEqual(shellEnv({}), {script: '\n', env: []})
  })
})
