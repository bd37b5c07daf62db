/**
 * The cluster's own names, from the emulated API (pure), as kube-dns serves them
 * (kubernetes/dns specification): `<svc>.<ns>.svc.cluster.local` → the Service's ClusterIP;
 * for a headless Service (clusterIP None) → the addresses of its ready endpoints (its Endpoints
 * object, which the lab's endpoints controller keeps; until it has written one, the running pods
 * its selector matches); `<a-b-c-d>.<ns>.pod.cluster.local` → the pod's address
 * (`pods insecure`, restricted to pods that exist). ExternalName Services and SRV records are not
 * served. Output: hosts-file lines, sorted, for dnsmasq's addn-hosts.
 */
import {DNS_DOMAIN} from '../../compile/dns.js'
import {type KubeObject, isPlainObject} from '../../kube/types.js'

interface ServiceSpec {
  clusterIP?: string
  type?: string
  selector?: Record<string, string>
}

function running(pod: KubeObject): string | undefined {
  const status = (isPlainObject(pod.status) ? pod.status : {}) as {podIP?: string; phase?: string}
  if (status.phase !== 'Running' || !status.podIP || pod.metadata.deletionTimestamp) return undefined
  return status.podIP
}

function matches(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>> | undefined): boolean {
  const entries = Object.entries(selector)
  return entries.length > 0 && entries.every(([k, v]) => labels?.[k] === v)
}

function endpointAddresses(endpoints: KubeObject | undefined): string[] {
  const subsets = endpoints && Array.isArray(endpoints.subsets) ? (endpoints.subsets as Array<{addresses?: Array<{ip?: string}>}>) : []
  return subsets.flatMap((s) => (s.addresses ?? []).map((a) => a.ip).filter((ip): ip is string => typeof ip === 'string'))
}

export function clusterRecords(input: {services: readonly KubeObject[]; endpoints: readonly KubeObject[]; pods: readonly KubeObject[]}): string[] {
  const lines: string[] = []
  const endpointsOf = new Map(input.endpoints.map((e) => [`${e.metadata.namespace}/${e.metadata.name}`, e]))
  for (const s of input.services) {
    const spec = (isPlainObject(s.spec) ? s.spec : {}) as ServiceSpec
    if (spec.type === 'ExternalName' || s.metadata.deletionTimestamp) continue
    const name = `${s.metadata.name}.${s.metadata.namespace}.svc.${DNS_DOMAIN}`
    if (spec.clusterIP && spec.clusterIP !== 'None') {
      lines.push(`${spec.clusterIP} ${name}`)
      continue
    }
    let addresses = endpointAddresses(endpointsOf.get(`${s.metadata.namespace}/${s.metadata.name}`))
    if (addresses.length === 0 && spec.selector) {
      addresses = input.pods
        .filter((p) => p.metadata.namespace === s.metadata.namespace && matches(spec.selector as Record<string, string>, p.metadata.labels))
        .map(running).filter((ip): ip is string => ip !== undefined)
    }
    for (const ip of new Set(addresses)) lines.push(`${ip} ${name}`)
  }
  for (const p of input.pods) {
    const ip = running(p)
    if (!ip || (isPlainObject(p.spec) && p.spec.hostNetwork === true)) continue
    lines.push(`${ip} ${ip.replace(/\./g, '-')}.${p.metadata.namespace}.pod.${DNS_DOMAIN}`)
  }
  return [...new Set(lines)].sort()
}

/** dnsmasq's configuration: answers from the files beside it, nothing from the host, no upstream but the servers file's */
export function dnsmasqConf(dir: string): string {
  return [
    '# xcc lab: the cluster DNS (kube-dns is dnsmasq underneath)',
    'port=53',
    // never the host's resolver or /etc/hosts: unknown names are REFUSED
    'no-resolv',
    'no-hosts',
    `local=/${DNS_DOMAIN}/`,
    `addn-hosts=${dir}/hosts`,
    `servers-file=${dir}/servers`,
    // as kube-dns runs it (--cache-size=1000 --no-negcache)
    'cache-size=1000',
    'no-negcache',
    'log-facility=-',
    'pid-file=',
    '',
  ].join('\n')
}
