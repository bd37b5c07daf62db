/** How xcc names the resources a link writes, in messages and progress lines. */
import type {ResourceRef, WritableKind} from '../ports/gcp-writes.js'

export const KIND_NOUNS: Readonly<Record<WritableKind, string>> = {
  network: 'network', subnetwork: 'subnetwork', firewall: 'firewall rule', route: 'route', instance: 'instance',
  instanceGroup: 'instance group', healthCheck: 'health check', backendService: 'backend service', forwardingRule: 'forwarding rule', peering: 'peering',
}

/** `firewall rule xcc-l-fw`, `subnetwork xcc-l-sub in us-west1`, `peering p of network n` */
export function describeRef(ref: ResourceRef): string {
  if (ref.kind === 'peering') return `peering ${ref.name} of network ${ref.parent ?? '?'}`
  const where = ref.scope.kind === 'global' ? '' : ` in ${ref.scope.name}`
  return `${KIND_NOUNS[ref.kind]} ${ref.name}${where}`
}
