/**
 * The lab's kube-proxy for Services of the API (src/lab/addons/kube-proxy.ts), pure: endpoints
 * from the selector's ready pods (named target ports resolved) or the Endpoints object, the
 * SVC-06 chain shape, and incremental restores: nothing when the table already is as wanted, the
 * old match deleted and the new inserted when the endpoints change, the chains removed when the
 * Service goes, a REJECT while it has no endpoints; UDP conntrack is cleared only on change.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {changedUdpIPs, filterSync, natSync, proxiedServices, serviceNat} from '../../src/lab/addons/kube-proxy.js'
import type {KubeObject} from '../../src/lab/kube/types.js'

const svc = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1', kind: 'Service', metadata: {name, namespace: 'kube-system'},
  spec: {clusterIP: '10.30.0.50', selector: {app: name}, ports: [{name: 'dns', port: 53, protocol: 'UDP', targetPort: 'dns'}], ...extra},
})
const pod = (name: string, ip: string, ready = true): KubeObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: {name, namespace: 'kube-system', labels: {app: 'resp'}},
  spec: {containers: [{name: 'c', ports: [{name: 'dns', containerPort: 5353, protocol: 'UDP'}]}]},
  status: {phase: 'Running', podIP: ip, conditions: [{type: 'Ready', status: ready ? 'True' : 'False'}]},
})

/** what iptables-save shows after applying `restore` to `dump` (enough of iptables-restore --noflush for these inputs) */
function apply(dump: string, restore: string): string {
  const chains = new Map<string, string[]>()
  for (const l of dump.split('\n')) {
    if (l.startsWith(':')) chains.set(l.slice(1).split(' ')[0] as string, [])
    else if (l.startsWith('-A ')) chains.get(l.split(' ')[1] as string)?.push(l)
  }
  for (const l of restore.split('\n')) {
    const [op, chain] = l.split(' ') as [string, string]
    if (l.startsWith(':')) chains.set(l.slice(1).split(' ')[0] as string, [])
    else if (op === '-A') chains.get(chain)!.push(l)
    else if (op === '-D') chains.set(chain, chains.get(chain)!.filter((r) => r !== `-A${l.slice(2)}`))
    else if (op === '-I') chains.get(chain)!.unshift(`-A ${chain}${l.slice(`-I ${chain} 1`.length)}`)
    else if (op === '-X') chains.delete(chain)
  }
  return ['*nat', ...[...chains.keys()].map((c) => `:${c} - [0:0]`), ...[...chains.values()].flat(), 'COMMIT', ''].join('\n')
}

const BASE = ['*nat', ':PREROUTING ACCEPT [0:0]', ':KUBE-SERVICES - [0:0]', '-A KUBE-SERVICES -d 10.30.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-X', 'COMMIT', ''].join('\n')

describe('kube-proxy for Services of the API', () => {
  it('takes ready pods of the selector with their named port, or the Endpoints object', () => {
    const [s] = proxiedServices({services: [svc('resp')], endpoints: [], pods: [pod('b', '10.20.0.9'), pod('a', '10.20.0.8'), pod('c', '10.20.0.7', false)]}, new Set())
    assert.deepEqual(s?.endpoints, [[{ip: '10.20.0.8', port: 5353}, {ip: '10.20.0.9', port: 5353}]])
    const manual = proxiedServices({
      services: [svc('manual', {selector: undefined, ports: [{name: 'dns', port: 53, protocol: 'UDP'}]})],
      endpoints: [{apiVersion: 'v1', kind: 'Endpoints', metadata: {name: 'manual', namespace: 'kube-system'}, subsets: [{addresses: [{ip: '10.1.1.1'}], ports: [{name: 'dns', port: 53, protocol: 'UDP'}]}]} as KubeObject],
      pods: [],
    }, new Set())
    assert.deepEqual(manual[0]?.endpoints, [[{ip: '10.1.1.1', port: 53}]])
    assert.deepEqual(proxiedServices({services: [svc('resp'), svc('headless', {clusterIP: 'None'})], endpoints: [], pods: []}, new Set(['kube-system/resp'])), [], 'skipped and headless Services are not proxied')
  })

  it('writes the chains once, changes only what changed, removes a deleted Service, REJECTs without endpoints', () => {
    const known = new Set(['kube-system/resp'])
    const one = proxiedServices({services: [svc('resp')], endpoints: [], pods: [pod('a', '10.20.0.8')]}, new Set())
    const first = natSync(BASE, one, known)
    assert.ok(first)
    const nat = serviceNat(one[0]!)
    assert.match(nat.jumps[0]!, /^-A KUBE-SERVICES -d 10\.30\.0\.50\/32 -p udp -m comment --comment "kube-system\/resp:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-\w{16}$/)
    assert.match(nat.rules.join('\n'), /-j DNAT --to-destination 10\.20\.0\.8:5353/)
    const after1 = apply(BASE, first)
    assert.match(after1, /kube-system\/kube-dns:dns cluster IP/, 'the rules of others are kept')
    assert.equal(natSync(after1, one, known), undefined, 'nothing to write when the table is as wanted')
    const two = proxiedServices({services: [svc('resp')], endpoints: [], pods: [pod('a', '10.20.0.8'), pod('b', '10.20.0.9')]}, new Set())
    const after2 = apply(after1, natSync(after1, two, known)!)
    assert.match(after2, /--probability 0\.50000000000 -j KUBE-SEP/)
    assert.equal(natSync(after2, two, known), undefined)
    const after3 = apply(after2, natSync(after2, [], known)!)
    assert.doesNotMatch(after3, /resp|KUBE-SEP/, 'the deleted Service leaves nothing behind')
    assert.match(after3, /kube-dns/)
    const none = proxiedServices({services: [svc('resp')], endpoints: [], pods: []}, new Set())
    assert.match(filterSync('*filter\n:KUBE-SERVICES - [0:0]\nCOMMIT\n', none, known) ?? '', /-I KUBE-SERVICES 1 -d 10\.30\.0\.50\/32 -p udp -m comment --comment "kube-system\/resp:dns has no endpoints" -m udp --dport 53 -j REJECT --reject-with icmp-port-unreachable/)
    assert.equal(natSync(BASE, none, known), undefined, 'no nat rules without endpoints')
  })

  it('clears UDP conntrack only for cluster IPs whose endpoints changed', () => {
    const one = proxiedServices({services: [svc('resp')], endpoints: [], pods: [pod('a', '10.20.0.8')]}, new Set())
    assert.deepEqual(changedUdpIPs([], one), ['10.30.0.50'])
    assert.deepEqual(changedUdpIPs(one, one), [])
  })
})
