/**
 * The live doctor's report drawn for people (issue 12 §6): in a narrow terminal every line fits
 * and wrapped lines keep a hanging indent; in a pipe nothing wraps and tcpdump lines are cut with
 * `…` at 160 columns; capture times are relative to the probe's first packet. The fixture is
 * the --json of `xcc doctor --live --topology <the lab's topology> --from frontend --to
 * 10.193.0.3:32191 --to-context backend` on the lab of seed 001 (peered-vpcs-missing-snat).
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'

import type {LiveReport} from '../../src/core/probe/report.js'
import {renderDoctorText} from '../../src/render/doctor-text.js'
import {displayWidth} from '../../src/render/layout.js'
import {assertGoldenText} from '../support/golden.js'

const EPOCH = /\b1\d{9}\.\d{6}\b/
const report = JSON.parse(readFileSync(new URL('../fixtures/live/seed-001-live-topology.json', import.meta.url), 'utf8')) as LiveReport
const packets = report.observations.captures.flatMap((c) => c.packets)
const first = packets.reduce((a, b) => (b.time < a.time ? b : a))


describe('the live report in an 80-column terminal', () => {
  const text = renderDoctorText(report, {color: false, width: {wrap: 80, cut: 80}})
  const lines = text.split('\n')

  it('matches its golden file', () => assertGoldenText('live/seed-001-80-columns.txt', text))

  it('every line fits in 80 columns, but the commands to paste, which stay whole', () => {
    for (const line of lines) if (!line.startsWith('    $ ')) assert.ok(displayWidth(line) <= 80, `${displayWidth(line)} columns: ${line}`)
    assert.ok(lines.some((l) => l.startsWith('    $ gcloud compute networks peerings update ') && displayWidth(l) > 80), 'a long command is one line')
  })

  it('wrapped lines continue under the text of their first line, not at column 0', () => {
    const root = lines.indexOf('Root cause  POD_SNAT_MISSING')
    assert.match(lines[root + 1] as string, /^ {2}Pod 10\.132\.0\.2/)
    assert.match(lines[root + 2] as string, /^ {2}\S/, 'the summary\'s second line is indented like its first')
    const bullet = lines.findIndex((l) => l.startsWith('  • return path, network/vpc-a:'))
    assert.match(lines[bullet + 1] as string, /^ {4}\S/, 'an evidence bullet continues under its text')
    const check = lines.findIndex((l) => l.startsWith('  ✓ nat.pod-range-not-masqueraded     cluster frontend'))
    assert.match(lines[check + 1] as string, /^ {38}\S/, 'a check\'s summary continues in the summary column')
  })

  it('tcpdump lines are cut with … at the terminal\'s width instead of wrapping', () => {
    const tcpdump = lines.filter((l) => / IP \d+\.\d+\.\d+\.\d+\.\d+ > /.test(l))
    assert.ok(tcpdump.length >= 12)
    for (const l of tcpdump) {
      assert.ok(displayWidth(l) <= 80 && displayWidth(l) >= 78, `${displayWidth(l)} columns: ${l}`)
      assert.ok(l.endsWith('…'), l)
    }
  })

})

describe('the live report in a pipe', () => {
  const text = renderDoctorText(report, {color: false})
  const lines = text.split('\n')

  it('matches its golden file', () => assertGoldenText('live/seed-001-pipe.txt', text))

  it('long tcpdump lines are cut with … at 160 columns; other lines are not wrapped', () => {
    const tcpdump = lines.filter((l) => / IP \d+\.\d+\.\d+\.\d+\.\d+ > /.test(l))
    assert.ok(tcpdump.length >= 12)
    for (const l of tcpdump) assert.ok(displayWidth(l) <= 160 && l.endsWith('…'), l)
    assert.ok(lines.some((l) => displayWidth(l) > 160 && !l.includes('…')), 'a long evidence sentence stays on one line')
  })

  it('the full lines stay in the report (--json prints it unchanged)', () => {
    const line = first.line
    assert.match(line, EPOCH)
    assert.ok(JSON.stringify(report).includes(JSON.stringify(line).slice(1, -1)))
    assert.ok(!text.includes(line))
  })
})

describe('capture times', () => {
  const text = renderDoctorText(report, {color: false})

  it('are seconds since the probe\'s first packet, not epoch seconds', () => {
    assert.doesNotMatch(text, EPOCH)
    const retransmit = packets.find((p) => p.time - first.time > 0.5)
    assert.ok(retransmit, 'the fixture holds a retransmitted SYN')
    assert.ok(text.includes(` +0.000s ${first.line.replace(/^\S+\s+/, '').slice(0, 40)}`), 'the first packet is +0.000s')
    assert.ok(text.includes(`+${(retransmit.time - first.time).toFixed(3)}s`), 'a retransmission shows its delay')
  })

  it('the header says what they are relative to', () => assert.match(text, /capture times since the probe's first packet/))
})
