/** src/cli/kubeconfig-flags.ts: `--merge [FILE]`, its value optional as kubectl users write it. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {optionalMergeValue} from '../../src/cli/kubeconfig-flags.js'

describe('--merge [FILE]', () => {
  it('alone (last, or before another flag) means kubectl\'s first kubeconfig file; with a value, that file', () => {
    assert.deepEqual(optionalMergeValue(['--cluster', 'c', '--merge']), ['--cluster', 'c', '--merge='])
    assert.deepEqual(optionalMergeValue(['--merge', '--json']), ['--merge=', '--json'])
    assert.deepEqual(optionalMergeValue(['--merge', 'kc.yaml', '--json']), ['--merge', 'kc.yaml', '--json'])
    assert.deepEqual(optionalMergeValue(['--merge=kc.yaml']), ['--merge=kc.yaml'])
    assert.deepEqual(optionalMergeValue(['--', '--merge']), ['--', '--merge'])
  })
})
