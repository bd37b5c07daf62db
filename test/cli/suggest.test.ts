import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {editDistance, nearestFlag} from '../../src/cli/suggest.js'

describe('edit distance (Damerau–Levenshtein, optimal string alignment)', () => {
  it('counts insertions, deletions and substitutions', () => {
    assert.equal(editDistance('topolgy', 'topology'), 1)
    assert.equal(editDistance('frm', 'from'), 1)
    assert.equal(editDistance('node', 'nope'), 1)
    assert.equal(editDistance('', 'abc'), 3)
    assert.equal(editDistance('kitten', 'sitting'), 3)
  })
  it('a swap of two neighbouring letters is one edit', () => {
    assert.equal(editDistance('form', 'from'), 1)
    assert.equal(editDistance('nmae', 'name'), 1)
    assert.equal(editDistance('ab', 'ba'), 1)
  })
})

describe('the nearest flag', () => {
  const flags = [{name: 'topology'}, {name: 'from'}, {name: 'to'}, {name: 'to-context'}, {name: 'json'}, {name: 'secret', hidden: true}, {name: 'namespace', aliases: ['ns-name']}]

  it('names the long flag a mistyped one is closest to, as it should be typed', () => {
    assert.equal(nearestFlag('--topolgy', flags), '--topology')
    assert.equal(nearestFlag('--topolgy=x', flags), '--topology')
    assert.equal(nearestFlag('-topology', flags), '--topology')
    assert.equal(nearestFlag('--form', flags), '--from')
    assert.equal(nearestFlag('--to-contxt', flags), '--to-context')
  })
  it('considers aliases, and never suggests a hidden flag', () => {
    assert.equal(nearestFlag('--ns-nam', flags), '--ns-name')
    assert.equal(nearestFlag('--secrte', flags), undefined)
  })
  it('suggests nothing for a word that is far from every flag, or a single letter', () => {
    assert.equal(nearestFlag('--zzzzzz', flags), undefined)
    assert.equal(nearestFlag('--xy', flags), undefined)
    assert.equal(nearestFlag('-i', flags), undefined)
  })
})
