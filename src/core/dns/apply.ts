/**
 * Applying a `xcc dns link|unlink` plan through the Kubernetes port. A link creates or updates
 * the responder first (ConfigMap, Deployment, Service), takes the ClusterIP the API gave its
 * Service, and only then points the cluster's DNS at it; an unlink takes the stub domain away
 * first, then the responder's zone (and the responder with its last zone). Every write carries the
 * resourceVersion xcc read, so a concurrent change fails (exit 3) instead of being overwritten.
 */
import {XccError} from '../errors.js'
import {throwIfAborted} from '../kube/pods.js'
import type {KubeCluster} from '../ports/kube.js'
import {type DnsChange, type DnsPlan, PENDING_ADDRESS, orderedChanges} from './plan.js'

export interface DnsApplyDeps {
  readonly cluster: KubeCluster
  readonly signal: AbortSignal
  readonly progress: (text: string) => void
}

export interface AppliedDnsChange {
  readonly kind: DnsChange['kind']
  readonly namespace: string
  readonly name: string
  readonly action: DnsChange['action']
}

export interface DnsApplied {
  readonly changes: readonly AppliedDnsChange[]
  /** the responder's ClusterIP the stub domain points at (link) */
  readonly address?: string
  /** the DNS ConfigMap edit as applied (with the real address) */
  readonly config: DnsChange
}

const title = (c: DnsChange): string => `${c.kind} ${c.namespace}/${c.name}`

/** one write; the created Service's ClusterIP is returned */
async function send(change: DnsChange, cluster: KubeCluster): Promise<string | undefined> {
  const {namespace, name} = change
  switch (change.kind) {
    case 'ConfigMap':
      if (change.action === 'delete') await cluster.deleteConfigMap(namespace, name)
      else if (change.action === 'create') await cluster.createConfigMap(namespace, change.after!)
      else await cluster.replaceConfigMap(namespace, change.after!)
      return undefined
    case 'Deployment':
      if (change.action === 'delete') await cluster.deleteDeployment(namespace, name)
      else if (change.action === 'create') await cluster.createDeployment(namespace, change.after!)
      else await cluster.replaceDeployment(namespace, change.after!)
      return undefined
    case 'Service':
      if (change.action === 'delete') {
        await cluster.deleteService(namespace, name)
        return undefined
      }
      return (await cluster.createService(namespace, change.after!)).spec?.clusterIP
  }
}

export async function applyDnsPlan(plan: DnsPlan, deps: DnsApplyDeps): Promise<DnsApplied> {
  const done: AppliedDnsChange[] = []
  const step = async (change: DnsChange): Promise<string | undefined> => {
    throwIfAborted(deps.signal)
    deps.progress(`${change.action} ${title(change)}`)
    const ip = await send(change, deps.cluster)
    done.push({kind: change.kind, namespace: change.namespace, name: change.name, action: change.action})
    return ip
  }
  if (plan.verb === 'unlink') {
    for (const change of orderedChanges(plan)) await step(change)
    return {changes: done, config: plan.config}
  }
  let address = plan.address
  for (const change of plan.responder.filter((c) => c.action !== 'none')) {
    const ip = await step(change)
    if (change.kind === 'Service' && ip) address = ip
  }
  if (!address || address === 'None' || address === PENDING_ADDRESS) {
    throw new XccError(`Service ${plan.responder.find((c) => c.kind === 'Service')?.namespace}/${plan.responder.find((c) => c.kind === 'Service')?.name} in context "${plan.context}" has no ClusterIP, so the stub domain has nothing to point at`, {
      exitCode: 3, details: done.map((d) => `${d.action} ${d.kind} ${d.namespace}/${d.name}`), hint: 'run the command again once the API server assigned one',
    })
  }
  const config = address === plan.address ? plan.config : plan.configFor(address)
  if (config.action !== 'none') await step(config)
  return {changes: done, address, config}
}
