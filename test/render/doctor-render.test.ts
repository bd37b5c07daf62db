import assert from 'node:assert/strict'
import {Writable} from 'node:stream'
import {describe, it} from 'node:test'

import {renderDoctorInk} from '../../src/render/doctor-ink.js'
import {renderDoctorText} from '../../src/render/doctor-text.js'
import {colorEnabled} from '../../src/render/terminal.js'
import {doctorFixture} from '../support/fixtures.js'

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g

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

  it('ink draws the same content as the text renderer, wrapped to the terminal', async () => {
    const terminal = new FakeTerminal()
    await renderDoctorInk(report, terminal as unknown as NodeJS.WriteStream)
    const squash = (s: string) => s.replace(ANSI, '').replace(/\s+/g, '')
    assert.equal(squash(terminal.text), squash(renderDoctorText(report, {color: false})))
    const widest = Math.max(...terminal.text.replace(ANSI, '').split('\n').map((l) => l.length))
    assert.ok(widest <= 120, `lines wrap at the terminal width (widest ${widest})`)
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
