/**
 * The "Try:" lines `xcc lab up` prints, through the built CLI as root: the doctor command names
 * the lab's own copy of its topology by absolute path and the scenario's flow, so it runs as
 * printed from any directory; a topology that names no flow keeps placeholders.
 */
import assert from 'node:assert/strict'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {LabCli, ROOT} from '../support/lab-cli.js'
import {requireLabTools} from '../support/netns.js'

/** the `xcc doctor …` line of the Try: block, split into words (the paths here need no quoting) */
function doctorLine(stdout: string): string[] {
  const line = stdout.split('\n').find((l) => l.trimStart().startsWith('xcc doctor '))
  assert.ok(line, `a doctor hint in:\n${stdout}`)
  return line.trim().split(/\s+/)
}

describe('xcc lab up: the Try: hint', () => {
  requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl'], ['openssl', ['version'], 'openssl']])
  assert.ok(existsSync(join(ROOT, 'dist/commands/lab/up.js')), 'dist/ is missing: run npm run build (npm test does it)')
  const cli = new LabCli()
  const home = cli.home()
  after(() => cli.cleanup())

  it('a scenario: the printed doctor command runs from another directory and finds the scenario\'s diagnosis', () => {
    const lab = cli.lab('ht')
    const up = cli.run(home, ['lab', 'up', '--scenario', 'ilb-cross-region-no-global-access', '--name', lab], {cwd: '/'})
    assert.equal(up.status, 0, up.stderr)
    const words = doctorLine(up.stdout)
    const topology = join(home, 'labs', lab, 'topology.yaml')
    assert.deepEqual(words, ['xcc', 'doctor', '--topology', topology, '--from', 'a', '--to', 'b/default/server'])
    for (const cwd of ['/', cli.home()]) {
      const doctor = cli.run(home, [...words.slice(1), '--json'], {cwd})
      assert.equal(doctor.status, 1, `from ${cwd}: ${doctor.stderr}`)
      assert.equal((JSON.parse(doctor.stdout) as {diagnosis: {code: string}}).diagnosis.code, 'FORWARDING_RULE_REGION_MISMATCH')
    }
  })

  it('a topology file without a flow: placeholders, and the absolute path of the lab\'s copy', () => {
    const lab = cli.lab('hf')
    const file = join(cli.home(), 'topo.yaml')
    writeFileSync(file, readFileSync(join(ROOT, 'templates/scenarios/vpc-native-pair-works.yaml'), 'utf8').replace(/^# flow: .*\n/m, ''))
    const up = cli.run(home, ['lab', 'up', '--topology', 'topo.yaml', '--name', lab], {cwd: join(file, '..')})
    assert.equal(up.status, 0, up.stderr)
    const topology = join(home, 'labs', lab, 'topology.yaml')
    assert.deepEqual(doctorLine(up.stdout), ['xcc', 'doctor', '--topology', topology, '--from', '<source>', '--to', '<destination>'])
    assert.equal(readFileSync(topology, 'utf8'), readFileSync(file, 'utf8'), 'the copy is what was built')
  })
})
