import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {splitAtDoubleDash} from '../../src/cli/argv.js'

describe('splitAtDoubleDash', () => {
  it('gives everything after the first -- unchanged, also flags and a second --', () => {
    assert.deepEqual(splitAtDoubleDash(['--name', 'L', 'pod/a/b/c', '--', 'echo', '--name', 'x', '-n', '--json', '--help', '--', 'y']), {
      own: ['--name', 'L', 'pod/a/b/c'],
      passThrough: ['echo', '--name', 'x', '-n', '--json', '--help', '--', 'y'],
    })
  })
  it('without -- there is nothing to pass through', () => assert.deepEqual(splitAtDoubleDash(['host', 'echo']), {own: ['host', 'echo']}))
  it('an empty command after --', () => assert.deepEqual(splitAtDoubleDash(['host', '--']), {own: ['host'], passThrough: []}))
})
