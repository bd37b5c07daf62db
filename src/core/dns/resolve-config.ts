/**
 * What a CoreDNS cluster DNS forwards where, from its Corefile (pure): each server block of a
 * zone other than the root with a `forward` plugin is a stub domain (CoreDNS picks the block of
 * the longest zone, as kube-dns picks the longest stub domain); the root block's `forward .`
 * targets are the upstreams (`/etc/resolv.conf`: the node's resolver).
 */
import {KUBE_DNS_NAMESPACE} from './kube-dns.js'
import {COREFILE_KEY} from './state.js'
import {parseCorefile} from './corefile.js'

export function corefileForwards(text: string): {stubs: Map<string, string[]>; upstreams: string[]} {
  const corefile = parseCorefile(text, `ConfigMap ${KUBE_DNS_NAMESPACE}/coredns key "${COREFILE_KEY}"`)
  const stubs = new Map<string, string[]>()
  let upstreams: string[] = []
  for (const block of corefile.servers) {
    const forward = block.plugins.find((p) => p.name === 'forward')
    if (!forward) continue
    const targets = forward.args.slice(1).map((t) => t.replace(/^dns:\/\//, ''))
    for (const key of block.keys) {
      if (key.scheme !== 'dns' || (key.port ?? 53) !== 53) continue
      if (key.zone === '.') upstreams = targets
      else if (!stubs.has(key.zone)) stubs.set(key.zone, targets)
    }
  }
  return {stubs, upstreams}
}
