/**
 * Applying a `xcc dns link|unlink` plan through the Kubernetes port. A link creates or updates
 * the responder first (ConfigMap, Deployment, Service), takes the ClusterIP the API gave its
 * Service, waits until the responder is ready (./readiness.ts: a stub domain aimed at pods that
 * do not answer yet fails the first lookups), and only then points the cluster's DNS at it; an
 * unlink takes the stub domain away
 * first, then the responder's zone (and the responder with its last zone). Every write carries the
 * resourceVersion xcc read, so a concurrent change fails (exit 3) instead of being overwritten.
 *
 * Nothing is reported that was not read back (as `xcc masquerade`, issue 13): a write whose
 * answer was lost (a timeout, a reset, a 5xx) or that was refused with a 409 may have been carried
 * out, so the object is read again — as xcc wanted: success with a warning; otherwise exit 3
 * saying what it holds. A run that stopped half-way is finished by running it again.
 */
import {ApiError, XccError, mayHaveApplied} from '../errors.js'
import {MANAGED_BY, MANAGED_BY_LABEL} from '../kube/labels.js'
import {throwIfAborted} from '../kube/pods.js'
import type {Clock} from '../ports/clock.js'
import type {KubeCluster, KubeConfigMap, KubeDeployment, KubeService} from '../ports/kube.js'
import {type DnsChange, type DnsPlan, PENDING_ADDRESS, SPEC_HASH_ANNOTATION, orderedChanges} from './plan.js'
import {type ResponderReady, waitForResponder} from './readiness.js'
import {RESPONDER_NAME, RESPONDER_NAMESPACE} from './responder.js'

export interface DnsApplyDeps {
  readonly cluster: KubeCluster
  readonly signal: AbortSignal
  readonly progress: (text: string) => void
  readonly clock: Clock
  /** link: how long the responder may take to become ready */
  readonly timeoutMs: number
  /** link: whether xcc may list the responder's pods (to say why one is not ready) */
  readonly canListPods: boolean
}

export interface AppliedDnsChange {
  readonly kind: DnsChange['kind']
  readonly namespace: string
  readonly name: string
  readonly action: DnsChange['action']
  /** the write's answer was lost (or it was refused with a 409) and the object, read again, is as xcc wanted */
  readonly warning?: string
}

export interface DnsApplied {
  readonly changes: readonly AppliedDnsChange[]
  /** the responder's ClusterIP the stub domain points at (link) */
  readonly address?: string
  /** the DNS ConfigMap edit as applied (with the real address) */
  readonly config: DnsChange
  /** link: the responder was ready before the DNS configuration pointed at it */
  readonly responder?: ResponderReady
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
      else await replaceDeployment(change, cluster)
      return undefined
    case 'Service':
      if (change.action === 'delete') {
        await cluster.deleteService(namespace, name)
        return undefined
      }
      return (await cluster.createService(namespace, change.after!)).spec?.clusterIP
  }
}

/** how often a Deployment replace is sent again after its status alone moved on */
const STATUS_RETRIES = 5

const sameMeta = (a: KubeDeployment, b: KubeDeployment): boolean =>
  a.metadata.uid === b.metadata.uid && a.metadata.generation === b.metadata.generation &&
  JSON.stringify(a.metadata.labels ?? {}) === JSON.stringify(b.metadata.labels ?? {}) && JSON.stringify(a.metadata.annotations ?? {}) === JSON.stringify(b.metadata.annotations ?? {})

/**
 * A Deployment's controller writes its status as pods come and go (a crash loop: every restart),
 * and each status write is a new resourceVersion of the object, so a replace carrying the one xcc
 * read is refused (409) although nobody changed what xcc replaces. Read again: the same object
 * with the same generation (spec unchanged), labels and annotations → sent again on the new
 * resourceVersion; anything else is another writer's change, and the 409 stands.
 */
async function replaceDeployment(change: Extract<DnsChange, {kind: 'Deployment'}>, cluster: KubeCluster): Promise<void> {
  let body = change.after!
  for (let attempt = 1; ; attempt++) {
    try {
      await cluster.replaceDeployment(change.namespace, body)
      return
    } catch (error) {
      if (attempt > STATUS_RETRIES || !(error instanceof ApiError) || error.fate.kind !== 'answered' || error.fate.status !== 409 || !change.before) throw error
      const live = await cluster.getDeployment(change.namespace, change.name)
      if (!live || live.metadata.deletionTimestamp || !sameMeta(live, change.before)) throw error
      body = {...body, metadata: {...body.metadata, ...(live.metadata.resourceVersion ? {resourceVersion: live.metadata.resourceVersion} : {})}}
    }
  }
}

type Live = KubeConfigMap | KubeDeployment | KubeService | undefined

function read(change: DnsChange, cluster: KubeCluster): Promise<Live> {
  if (change.kind === 'ConfigMap') return cluster.getConfigMap(change.namespace, change.name)
  if (change.kind === 'Deployment') return cluster.getDeployment(change.namespace, change.name)
  return cluster.getService(change.namespace, change.name)
}

/** the object, as read, holds what the change wrote (a delete: it is gone) */
export function holds(change: DnsChange, live: Live): boolean {
  if (change.action === 'delete') return live === undefined || live.metadata.deletionTimestamp !== undefined
  if (!live || !change.after || live.metadata.deletionTimestamp) return false
  if (change.kind === 'ConfigMap') {
    const data = (live as KubeConfigMap).data ?? {}
    const want = change.after.data ?? {}
    const sameData = Object.keys(data).length === Object.keys(want).length && Object.entries(want).every(([k, v]) => data[k] === v)
    const xcc = (m: Readonly<Record<string, string>> | undefined) => JSON.stringify(Object.entries(m ?? {}).filter(([k]) => k.startsWith('xcc.dev/')).sort())
    return sameData && xcc(live.metadata.annotations) === xcc(change.after.metadata.annotations)
  }
  if (change.kind === 'Deployment') return live.metadata.annotations?.[SPEC_HASH_ANNOTATION] === change.after.metadata.annotations?.[SPEC_HASH_ANNOTATION]
  return live.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY
}

/** a 409 (AlreadyExists, Conflict) or a 404 on a replace: another writer was there first */
function concurrent(change: DnsChange, error: unknown): boolean {
  if (!(error instanceof ApiError) || error.fate.kind !== 'answered') return false
  return error.fate.status === 409 || (error.fate.status === 404 && change.action === 'update')
}

/** one write, read back when its outcome is not known from its answer */
async function write(change: DnsChange, deps: DnsApplyDeps, context: string): Promise<{ip?: string; warning?: string}> {
  try {
    const ip = await send(change, deps.cluster)
    return ip ? {ip} : {}
  } catch (error) {
    const lost = mayHaveApplied(error)
    if (!lost && !concurrent(change, error)) throw error
    const message = (error as Error).message
    deps.progress(`${lost ? `the API's answer to the ${change.action} was lost` : `the ${change.action} was refused`}: reading ${title(change)} again`)
    let live: Live
    try {
      live = await read(change, deps.cluster)
    } catch (again) {
      throw new XccError(`the outcome of the ${change.action} of ${title(change)} is unknown: ${message}; reading it again failed too: ${(again as Error).message}`, {exitCode: 3, hint: `once the API server answers, see what holds with: xcc dns list --context ${context}, and run the command again`})
    }
    if (!holds(change, live)) {
      throw new XccError(`the ${change.action} of ${title(change)} did not take effect: ${message}; read again, ${live ? 'it holds something else (another writer changed it)' : 'it is gone'}`, {exitCode: 3, hint: 'run the command again: it starts from what it finds'})
    }
    const warning = `${lost ? `the API's answer to the ${change.action} was lost` : `the ${change.action} was refused`} (${message}); read again, ${title(change)} ${change.action === 'delete' ? 'is gone' : 'holds what xcc wrote'}`
    deps.progress(`warning: ${warning}`)
    const ip = change.kind === 'Service' && live ? (live as KubeService).spec?.clusterIP : undefined
    return {...(ip ? {ip} : {}), warning}
  }
}

export async function applyDnsPlan(plan: DnsPlan, deps: DnsApplyDeps): Promise<DnsApplied> {
  const done: AppliedDnsChange[] = []
  const step = async (change: DnsChange): Promise<string | undefined> => {
    throwIfAborted(deps.signal)
    deps.progress(`${change.action} ${title(change)}`)
    const {ip, warning} = await write(change, deps, plan.context)
    done.push({kind: change.kind, namespace: change.namespace, name: change.name, action: change.action, ...(warning ? {warning} : {})})
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
  const responder = await waitForResponder(deps, {namespace: RESPONDER_NAMESPACE, name: RESPONDER_NAME, context: plan.context}).catch((error: unknown) => {
    // what was written is said with the failure
    if (!(error instanceof XccError) || done.length === 0) throw error
    throw new XccError(error.message, {exitCode: error.exitCode, ...(error.hint ? {hint: error.hint} : {}), details: [...error.details, ...done.map((d) => `before that, xcc ${d.action === 'none' ? 'kept' : `${d.action}d`} ${d.kind} ${d.namespace}/${d.name}`)]})
  })
  if (config.action !== 'none') await step(config)
  return {changes: done, address, config, responder}
}
