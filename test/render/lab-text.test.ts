import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {shellWord} from '../../src/core/shell.js'
import {type LabHostsView, type LabUpView, renderLabUp} from '../../src/render/lab-text.js'

const lab: LabHostsView = {
  name: 'fx1', defaultName: false, source: 'scenario s', kubeconfig: '/h/labs/fx1/kubeconfig',
  hosts: {'network/n': {namespace: 'xcc-fx1-net0'}, 'pod/a/default/client': {namespace: 'xcc-fx1-pod0', address: '10.0.0.10'}},
  clusters: [{name: 'a', context: 'a', server: 'https://127.0.0.1:1234'}],
}
const up = (doctor: LabUpView['doctor']): LabUpView => ({...lab, elapsedMs: 1000, doctor})

describe('renderLabUp', () => {
  it('suggests the doctor on the lab\'s own topology by absolute path, with the flow it names', () => {
    const text = renderLabUp(up({topology: '/h/labs/fx1/topology.yaml', flow: {from: 'a', to: 'b/default/server'}}))
    assert.match(text, /^ {2}xcc doctor --topology \/h\/labs\/fx1\/topology\.yaml --from a --to b\/default\/server$/m)
    assert.doesNotMatch(text, /templates\/scenarios/)
  })

  it('without a flow: placeholders, still the absolute path', () => {
    const text = renderLabUp(up({topology: '/h/labs/fx1/topology.yaml'}))
    assert.match(text, /^ {2}xcc doctor --topology \/h\/labs\/fx1\/topology\.yaml --from <source> --to <destination>$/m)
  })

  it('a path with a space is quoted for the shell', () => {
    const text = renderLabUp(up({topology: "/my home/it's/topology.yaml"}))
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
