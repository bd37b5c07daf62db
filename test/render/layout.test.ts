import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {cutLine, displayWidth, layoutLines, outputWidth, wrapLine} from '../../src/render/layout.js'
import type {Line} from '../../src/render/lines.js'

const text = (line: Line): string => line.map((s) => s.text).join('')

describe('output width', () => {
  it('in a terminal: wrap and cut at the terminal\'s width (80 when it does not say)', () => {
    assert.deepEqual(outputWidth({isTTY: true, columns: 97}, {}), {wrap: 97, cut: 97})
    assert.deepEqual(outputWidth({isTTY: true}, {}), {wrap: 80, cut: 80})
  })
  it('COLUMNS wins over the terminal\'s width; a malformed COLUMNS is ignored', () => {
    assert.deepEqual(outputWidth({isTTY: true, columns: 97}, {COLUMNS: '60'}), {wrap: 60, cut: 60})
    assert.deepEqual(outputWidth({isTTY: true, columns: 97}, {COLUMNS: 'wide'}), {wrap: 97, cut: 97})
    assert.deepEqual(outputWidth({isTTY: true, columns: 97}, {COLUMNS: '0'}), {wrap: 97, cut: 97})
  })
  it('in a pipe nothing wraps; tcpdump lines are cut at 160 columns, or at COLUMNS', () => {
    assert.deepEqual(outputWidth({isTTY: false, columns: 97}, {}), {cut: 160})
    assert.deepEqual(outputWidth({isTTY: false}, {COLUMNS: '120'}), {cut: 120})
  })
})

describe('wrapping with a hanging indent', () => {
  const bullet: Line = [{text: '  • ', style: 'dim'}, {text: 'the reply to 10.132.0.2 is dropped at network/vpc-a because the best route is the default route to the internet gateway', hang: true}]

  it('continuation lines start under the text of the first line, and no line is wider than the width', () => {
    const rows = wrapLine(bullet, 40)
    assert.ok(rows.length > 2)
    for (const row of rows) assert.ok(displayWidth(text(row)) <= 40, `"${text(row)}" fits in 40 columns`)
    for (const row of rows.slice(1)) assert.match(text(row), /^ {4}\S/, `"${text(row)}" starts under the text after the bullet`)
  })

  it('keeps every word, in order', () => {
    const words = (t: string) => t.split(/\s+/).filter(Boolean)
    assert.deepEqual(wrapLine(bullet, 40).flatMap((r) => words(text(r))), words(text(bullet)))
  })

  it('without a hang mark, continuation lines start under the line\'s first character', () => {
    const rows = wrapLine([{text: '        '}, {text: 'pod default/curl on node gke-frontend-1, cluster frontend (ROUTES); sends 10.132.0.10:40000'}], 50)
    for (const row of rows.slice(1)) assert.match(text(row), /^ {8}\S/)
  })

  it('a column too thin for the longest word moves the indent left instead of breaking the word', () => {
    const check: Line = [{text: '  ✓ '}, {text: 'firewall.egress-allows'.padEnd(34)}, {text: 'egress allowed at node/gke-frontend-cluster-default-pool-d65237bb-1c6s', hang: true}]
    const rows = wrapLine(check, 80)
    assert.equal(text(rows[1] as Line), '    node/gke-frontend-cluster-default-pool-d65237bb-1c6s')
  })

  it('a word wider than the whole width is broken where the line ends', () => {
    const rows = wrapLine([{text: 'x'.repeat(25)}], 10)
    assert.deepEqual(rows.map(text), ['xxxxxxxxxx', 'xxxxxxxxxx', 'xxxxx'])
  })

  it('lines that fit are left alone', () => assert.deepEqual(wrapLine(bullet, 400), [bullet]))
})

describe('cutting tcpdump lines', () => {
  const tcpdump: Line = [{text: '           '}, {text: '+0.000s eth0  Out IP 10.132.0.2.43851 > 10.193.0.3.32191: Flags [S], seq 2230345212, win 64240, length 0', style: 'code', cut: true}]

  it('cuts a too wide line with … at exactly the width', () => {
    const cut = cutLine(tcpdump, 60)
    assert.equal(displayWidth(text(cut)), 60)
    assert.ok(text(cut).endsWith('…'))
    assert.ok(text(tcpdump).startsWith(text(cut).slice(0, -1)))
  })

  it('a line with a cut segment is cut, never wrapped, also in a terminal', () => {
    assert.deepEqual(layoutLines([tcpdump], {wrap: 60, cut: 60}).map(text), [text(cutLine(tcpdump, 60))])
  })

  it('in a pipe other lines are neither wrapped nor cut', () => {
    const long: Line = [{text: 'y '.repeat(200)}]
    assert.deepEqual(layoutLines([long], {cut: 160}), [long])
  })
})
