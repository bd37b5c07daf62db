/**
 * The kubeconfig benchmark's code path, once (bench/kubeconfig.ts): the emulated GKE and
 * Kubernetes APIs start without root, every command runs (generate verified, its file written),
 * the probe reports CPU and requests, and the report prints a verdict per generate row.
 * No timing target here: that lives in `npm run bench:kubeconfig`.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {TARGET_MS, benchKubeconfig, quantile, report} from '../../bench/kubeconfig.js'

describe('bench:kubeconfig', () => {
  it('quantile is the nearest rank', () => {
    assert.equal(quantile([5, 1, 3, 2, 4], 0.5), 3)
    assert.equal(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9), 9)
    assert.equal(quantile([7], 0.9), 7)
    assert.ok(Number.isNaN(quantile([], 0.5)))
  })

  it('one round against the emulated APIs: every generate verified, requests counted, a verdict per row', {timeout: 120_000}, async () => {
    const {rows, pluginBin} = await benchKubeconfig({runs: 1, warmup: false})
    assert.deepEqual(rows.map((r) => r.label).slice(0, 3), ['node -e 0', 'generate --auth service-account --role service-reader', 'generate --auth token'])
    assert.equal(rows.length, pluginBin ? 4 : 3)
    for (const r of rows) assert.equal(r.samples.length, 1)
    const [bare, sa, token] = rows.map((r) => r.samples[0]!)
    assert.equal(bare!.requests, 0)
    assert.ok(bare!.cpuMs > 0)
    // the cluster from the GKE API, the caller's checks and the objects, the token, then /version, who am I and the reviews
    assert.ok(sa!.requests >= 10, `service-account made ${sa!.requests} requests`)
    assert.ok(token!.requests >= 3 && token!.requests < sa!.requests, `token made ${token!.requests} requests`)
    for (const s of [sa!, token!]) assert.ok(s.wallMs > bare!.wallMs && s.cpuMs > 0)
    // keep-alive (adapters/kube/cluster.ts reuseConnections): requests of one kubeconfig share connections
    assert.ok(sa!.connections > 0 && sa!.connections < sa!.requests - 4, `service-account: ${sa!.connections} connections for ${sa!.requests} requests`)
    const lines = report(rows)
    assert.match(lines[0]!, new RegExp(`< ${TARGET_MS} ms`))
    assert.equal(lines.filter((l) => /(PASS|MISS) \(p90 (PASS|MISS)\)$/.test(l)).length, rows.length - 1)
  })
})
