import assert from 'node:assert/strict'
import {readFileSync, readdirSync} from 'node:fs'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {topologyPath} from './support/fixtures.js'

/** The bundled scenarios (templates/scenarios) are fixtures the tests assert on; they must not drift apart. */
const SCENARIOS: Record<string, string> = {
  'peered-vpcs-missing-snat': 'seed-001-peered-vpcs-missing-snat',
  'peered-vpcs-fixed-snat': 'seed-001-fixed-node-masquerade',
  'peered-vpcs-ip-masq-agent': 'seed-001-ip-masq-agent',
  'gateways-missing-snat': 'seed-000-gateways-missing-snat',
  'gateways-fixed-snat': 'seed-000-fixed-gateway-snat',
  'vpc-native-pair-works': 'vpc-native-pair-works',
  'ilb-cross-region-no-global-access': 'ilb-cross-region-no-global-access',
  'two-vpcs-unwired': 'two-vpcs-unwired',
  'overlapping-clusters-unwired': 'overlapping-clusters-unwired',
  'dns-name-not-found': 'dns-name-not-found',
  'dns-stub-domain-missing': 'dns-stub-domain-missing',
  'dns-server-unreachable': 'dns-server-unreachable',
  'dns-record-stale': 'dns-record-stale',
}
const dir = fileURLToPath(new URL('../templates/scenarios/', import.meta.url))

describe('bundled scenarios', () => {
  it('are exactly the listed ones', () => {
    assert.deepEqual(readdirSync(dir).sort(), Object.keys(SCENARIOS).map((n) => `${n}.yaml`).sort())
  })

  for (const [scenario, fixture] of Object.entries(SCENARIOS)) {
    it(`templates/scenarios/${scenario}.yaml is the tested fixture ${fixture}, named after the scenario`, () => {
      const text = readFileSync(`${dir}${scenario}.yaml`, 'utf8')
      assert.equal(text, readFileSync(topologyPath(fixture), 'utf8'))
      assert.match(text, new RegExp(`^metadata:\\n  name: ${scenario}$`, 'm'))
    })
  }

  it('the README commands use the bundled scenarios', () => {
    const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8')
    assert.match(readme, /xcc doctor --topology templates\/scenarios\/peered-vpcs-missing-snat\.yaml --from frontend --to lb\/backend-ilb/)
    assert.match(readme, /xcc doctor --topology templates\/scenarios\/gateways-missing-snat\.yaml --from c1\/default\/ubuntu --to lb\/c2-forwarding-rules/)
    assert.match(readme, /^npm test$/m)
  })
})
