/**
 * The doctor's fix for seed 000 works where users are: its startup-script lines, run inside the
 * lab's gateway VMs (whose interfaces are nic0/nic1, not the ens4/ens5 of Google's images), make
 * the connection work — the rule names no interface — and running them twice changes nothing.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {after, describe, it} from 'node:test'

import {CHECKS} from '../../src/checks/index.js'
import {evaluateDoctor} from '../../src/core/doctor/report.js'
import {parseTopology} from '../../src/core/topology/parse.js'
import {resolveFlow} from '../../src/core/trace/endpoints.js'
import {destroyDataPlane} from '../../src/lab/runtime/dataplane.js'
import {probeTcp} from '../../src/lab/runtime/servers.js'
import {startLab} from '../support/lab-compare.js'
import {requireLabTools} from '../support/netns.js'

const LAB = `gf${process.pid}`
const SCENARIO = 'templates/scenarios/gateways-missing-snat.yaml'

describe('the gateway SNAT fix (seed 000) in the lab', () => {
  requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl']])
  after(async () => {
    await destroyDataPlane(LAB)
  })

  it('its startup-script lines, run on the gateways, make the pod reach the load balancer', async () => {
    const model = parseTopology(readFileSync(SCENARIO, 'utf8'), SCENARIO)
    const report = evaluateDoctor(model, resolveFlow(model, 'c1/default/ubuntu', 'lb/c2-forwarding-rules'), CHECKS)
    assert.equal(report.diagnosis?.code, 'GATEWAY_SNAT_MISSING')
    const script: string = report.diagnosis?.fixes[0]?.script ?? ''
    assert.notEqual(script, '', 'the fix carries the startup script it installs')
    const lab = await startLab(model, LAB)
    try {
      const pod = (lab.plan.hosts['pod/c1/default/ubuntu'] as {ns: string}).ns
      assert.equal((await probeTcp(pod, '10.210.200.7', 80, {timeoutMs: 2500})).connected, false, 'seed 000 fails before the fix')
      // the same lines on every gateway of the client's side (the load balancer in front of them picks any), twice
      for (const gateway of ['c1-gw-1', 'c1-gw-2']) {
        const ns = (lab.plan.hosts[`instance/${gateway}`] as {ns: string}).ns
        for (let run = 0; run < 2; run++) {
          const r = spawnSync('ip', ['netns', 'exec', ns, 'sh', '-c', script], {encoding: 'utf8', timeout: 10_000})
          assert.equal(r.status, 0, `${gateway}: ${r.stderr}`)
        }
        const rules = spawnSync('ip', ['netns', 'exec', ns, 'iptables-save', '-t', 'nat'], {encoding: 'utf8'}).stdout
        assert.equal(rules.split('\n').filter((l) => l.includes('-j MASQUERADE') && l.includes('10.120.0.0/16')).length, 1, `${gateway}: the rule is there once`)
      }
      const fixed = await probeTcp(pod, '10.210.200.7', 80, {timeoutMs: 3000})
      assert.equal(fixed.connected, true, `the pod reaches the load balancer after the fix: ${JSON.stringify(fixed)}`)
      assert.match(fixed.clientAddress ?? '', /^10\.210\.200\.\d+$/, 'the far side saw a gateway\'s address, not the pod range it shares')
    } finally {
      await lab.destroy()
    }
  })
})
