import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {topologyPath} from './support/fixtures.js'

/** The README's runnable examples are the seed fixtures the tests assert on; they must not drift apart. */
describe('bundled examples', () => {
  for (const [example, fixture] of [['peered-vpcs-missing-snat', 'seed-001-peered-vpcs-missing-snat'], ['gateways-missing-snat', 'seed-000-gateways-missing-snat']]) {
    it(`examples/${example}.yaml is the tested fixture ${fixture}`, () => {
      assert.equal(readFileSync(fileURLToPath(new URL(`../examples/${example}.yaml`, import.meta.url)), 'utf8'), readFileSync(topologyPath(fixture as string), 'utf8'))
    })
  }

  it('the README commands use the bundled examples', () => {
    const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8')
    assert.match(readme, /xcc doctor --topology examples\/peered-vpcs-missing-snat\.yaml --from frontend --to lb\/backend-ilb/)
    assert.match(readme, /xcc doctor --topology examples\/gateways-missing-snat\.yaml --from c1\/default\/ubuntu --to lb\/c2-forwarding-rules/)
    assert.match(readme, /^npm test$/m)
  })
})
