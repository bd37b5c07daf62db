import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import type {LabState} from '../../src/lab/runtime/state.js'
import {renderLabUp, shellWord} from '../../src/render/lab-text.js'

const state = {
  schemaVersion: 1, name: 'fx1', createdAt: '2026-01-01T00:00:00Z', source: 'scenario s', topologyName: 's', phase: 'running',
  plan: {namespaces: [], links: [], servers: [], hosts: {'network/n': {ns: 'xcc-fx1-net0'}, 'pod/a/default/client': {ns: 'xcc-fx1-pod0', address: '10.0.0.10'}}},
  clusters: [{name: 'a', context: 'a', server: 'https://127.0.0.1:1234', port: 1234}], kubeconfig: '/h/labs/fx1/kubeconfig',
} as unknown as LabState

describe('renderLabUp', () => {
  it('suggests the doctor on the lab\'s own topology by absolute path, with the flow it names', () => {
    const text = renderLabUp(state, {elapsedMs: 1000, doctor: {topology: '/h/labs/fx1/topology.yaml', flow: {from: 'a', to: 'b/default/server'}}})
    assert.match(text, /^ {2}xcc doctor --topology \/h\/labs\/fx1\/topology\.yaml --from a --to b\/default\/server$/m)
    assert.doesNotMatch(text, /templates\/scenarios/)
  })

  it('without a flow: placeholders, still the absolute path', () => {
    const text = renderLabUp(state, {elapsedMs: 1000, doctor: {topology: '/h/labs/fx1/topology.yaml'}})
    assert.match(text, /^ {2}xcc doctor --topology \/h\/labs\/fx1\/topology\.yaml --from <source> --to <destination>$/m)
  })

  it('a path with a space is quoted for the shell', () => {
    const text = renderLabUp(state, {elapsedMs: 1000, doctor: {topology: "/my home/it's/topology.yaml"}})
    assert.match(text, /--topology '\/my home\/it'\\''s\/topology\.yaml' /)
  })
})

describe('shellWord', () => {
  it('leaves plain words alone and quotes the rest', () => {
    assert.equal(shellWord('c1/default/ubuntu'), 'c1/default/ubuntu')
    assert.equal(shellWord('10.0.0.1:80'), '10.0.0.1:80')
    assert.equal(shellWord('a b'), "'a b'")
    assert.equal(shellWord('$x'), "'$x'")
  })
})
