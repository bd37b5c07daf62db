import assert from 'node:assert/strict'
import {Writable} from 'node:stream'
import {describe, it} from 'node:test'

import {renderDoctorInk} from '../../src/render/doctor-ink.js'
import {renderDoctorText} from '../../src/render/doctor-text.js'
import {colorEnabled} from '../../src/render/terminal.js'
import {doctorFixture} from '../support/fixtures.js'

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g
// eslint-disable-next-line no-control-regex
const CLEAR = /\u001b\[[23]J/

class FakeTerminal extends Writable {
  text = ''
  columns = 120
  rows = 500
  isTTY = true
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString()
    done()
  }
}

describe('doctor renderers', () => {
  const report = doctorFixture('seed-001-peered-vpcs-missing-snat', 'frontend', 'lb/backend-ilb')

  it('ink draws the same lines as the text renderer laid out at the terminal\'s width', async () => {
    const terminal = new FakeTerminal()
    await renderDoctorInk(report, terminal as unknown as NodeJS.WriteStream)
    const drawn = terminal.text.replace(ANSI, '').split('\n').map((l) => l.trimEnd())
    while (drawn[drawn.length - 1] === '') drawn.pop()
    assert.deepEqual(drawn, renderDoctorText(report, {color: false, width: {wrap: 120, cut: 120}}).trimEnd().split('\n'))
    const widest = Math.max(...drawn.map((l) => l.length))
    assert.ok(widest <= 120, `lines wrap at the terminal width (widest ${widest})`)
  })

  it('ink draws a report taller than the terminal once, without clearing the screen or its scrollback', async () => {
    const terminal = new FakeTerminal()
    terminal.rows = 20
    await renderDoctorInk(report, terminal as unknown as NodeJS.WriteStream)
    assert.doesNotMatch(terminal.text, CLEAR)
    assert.equal(terminal.text.split('Root cause').length, 2, 'the report appears once')
  })

  it('colours the text renderer only when asked', () => {
    assert.match(renderDoctorText(report, {color: true}), ANSI)
    assert.doesNotMatch(renderDoctorText(report, {color: false}), ANSI)
  })

  it('colour decision: TTY only, NO_COLOR wins, FORCE_COLOR forces, TERM=dumb disables', () => {
    assert.equal(colorEnabled({isTTY: true, env: {}}), true)
    assert.equal(colorEnabled({isTTY: false, env: {}}), false)
    assert.equal(colorEnabled({isTTY: true, env: {NO_COLOR: '1'}}), false)
    assert.equal(colorEnabled({isTTY: true, env: {NO_COLOR: ''}}), true, 'an empty NO_COLOR is ignored (no-color.org)')
    assert.equal(colorEnabled({isTTY: false, env: {FORCE_COLOR: '1'}}), true)
    assert.equal(colorEnabled({isTTY: true, env: {FORCE_COLOR: '0'}}), true)
    assert.equal(colorEnabled({isTTY: true, env: {TERM: 'dumb'}}), false)
  })
})
