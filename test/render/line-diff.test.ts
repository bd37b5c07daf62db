/**
 * src/render/line-diff.ts: the LCS line diff `xcc masquerade --dry-run` shows. Checked on
 * examples and on random texts against an independent LCS length (the diff keeps as many lines
 * as possible) and by rebuilding both texts from it.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {type DiffLine, lineDiff} from '../../src/render/line-diff.js'
import {seededRng} from '../support/random.js'

const show = (d: readonly DiffLine[]) => d.map((l) => `${l.op}${l.text}`)
const lines = (text: string) => (text === '' ? [] : text.replace(/\n$/, '').split('\n'))

/** LCS length by memoised recursion (independent of the implementation's table) */
function lcsLength(a: readonly string[], b: readonly string[]): number {
  const memo = new Map<string, number>()
  const go = (i: number, j: number): number => {
    if (i === a.length || j === b.length) return 0
    const key = `${i},${j}`
    const hit = memo.get(key)
    if (hit !== undefined) return hit
    const v = a[i] === b[j] ? 1 + go(i + 1, j + 1) : Math.max(go(i + 1, j), go(i, j + 1))
    memo.set(key, v)
    return v
  }
  return go(0, 0)
}

describe('lineDiff', () => {
  it('equal texts: every line kept', () => {
    assert.deepEqual(show(lineDiff('a\nb\nc\n', 'a\nb\nc\n')), [' a', ' b', ' c'])
  })

  it('from or to nothing: only additions or only removals', () => {
    assert.deepEqual(show(lineDiff('', 'a\nb\n')), ['+a', '+b'])
    assert.deepEqual(show(lineDiff('a\nb\n', '')), ['-a', '-b'])
    assert.deepEqual(lineDiff('', ''), [])
  })

  it('one trailing newline does not make a line; other blank lines do', () => {
    assert.deepEqual(show(lineDiff('a\nb', 'a\nb\n')), [' a', ' b'])
    assert.deepEqual(show(lineDiff('a\n\nb\n', 'a\nb\n')), [' a', '-', ' b'])
  })

  it('a change in the middle: removals before additions, context kept', () => {
    assert.deepEqual(show(lineDiff('k: 1\nlist:\n  - 10.0.0.0/8\nz: 2\n', 'k: 1\nlist:\n  - 10.0.0.0/9\n  - 10.128.0.0/10\nz: 2\n')),
      [' k: 1', ' list:', '-  - 10.0.0.0/8', '+  - 10.0.0.0/9', '+  - 10.128.0.0/10', ' z: 2'])
  })

  it('random texts (seeded): the kept lines are a longest common subsequence; both texts rebuild from the diff', () => {
    const rng = seededRng(31337)
    const alphabet = ['a', 'b', 'c', 'd', '', '  - x']
    for (let n = 0; n < 400; n++) {
      const make = () => Array.from({length: Math.floor(rng() * 12)}, () => alphabet[Math.floor(rng() * alphabet.length)] as string)
      const a = make()
      const b = rng() < 0.3 ? [...a] : make()
      const before = a.length ? `${a.join('\n')}\n` : ''
      const after = b.length ? `${b.join('\n')}\n` : ''
      const d = lineDiff(before, after)
      const la = lines(before)
      const lb = lines(after)
      assert.deepEqual(d.filter((l) => l.op !== '+').map((l) => l.text), la, JSON.stringify({before, after}))
      assert.deepEqual(d.filter((l) => l.op !== '-').map((l) => l.text), lb, JSON.stringify({before, after}))
      assert.equal(d.filter((l) => l.op === ' ').length, lcsLength(la, lb), JSON.stringify({before, after}))
    }
  })
})
