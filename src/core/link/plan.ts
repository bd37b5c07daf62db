/**
 * `xcc link plan`: the request, checked (preflight), turned into what the link wants in its
 * mode, and compared with what the project holds. Pure: the app reads the project into a Model.
 */
import {XccError} from '../errors.js'
import type {Model} from '../topology/model-types.js'
import type {PlannedChange} from './changes.js'
import {type KubeStep, type LinkDesign, type LinkMode, type LinkRequest, clusterOf} from './design.js'
import {diffLink, planDelete} from './diff.js'
import {designGateway} from './gateway.js'
import {checkLinkName, checkNameLengths, ownedBy} from './names.js'
import {designPeering} from './peering.js'
import {describeOverlap, peeringOverlaps} from './ranges.js'
import {type Resource, existingResources} from './resources.js'

export interface LinkPlan {
  readonly link: string
  readonly mode: LinkMode
  /** why this mode (auto), or that it was asked for */
  readonly modeReason: string
  readonly changes: readonly PlannedChange[]
  /** Kubernetes steps beside the Compute changes (xcc masquerade, a Service annotation) */
  readonly kube: readonly KubeStep[]
  readonly address?: LinkDesign['address']
  readonly notes: readonly string[]
}

/** auto: peering when the two networks' ranges allow it (PEER-08), else gateway, saying why */
export function chooseMode(model: Model, request: LinkRequest): {mode: LinkMode; reason: string} {
  const from = clusterOf(model, request.from, '--from')
  const to = clusterOf(model, request.to, '--to')
  if (request.mode !== 'auto') return {mode: request.mode, reason: `--mode ${request.mode}`}
  const clash = peeringOverlaps(model, from, to)
  if (clash.length > 0) return {mode: 'gateway', reason: `gateway: ${describeOverlap(clash[0]!)}, so the networks cannot be peered (PEER-08)`}
  if (request.viaNetwork) return {mode: 'gateway', reason: 'gateway: --via-network names a shared network (peering is not transitive, PEER-07)'}
  return {mode: 'peering', reason: `peering: no range of ${from.network} overlaps one of ${to.network} (PEER-08)`}
}

const owner = (link: string, peerings: readonly string[]) => (r: Resource): boolean => (r.ref.kind === 'peering' ? peerings.includes(r.ref.name) : ownedBy(r.description, link))

export function planLink(model: Model, request: LinkRequest): LinkPlan {
  checkLinkName(request.link)
  if (request.from === request.to) throw new XccError(`--from and --to are both ${request.from}: a link joins two clusters`)
  const from = clusterOf(model, request.from, '--from')
  const to = clusterOf(model, request.to, '--to')
  const {mode, reason} = chooseMode(model, request)
  const design = mode === 'peering' ? designPeering(model, request, from, to) : designGateway(model, request, from, to)
  checkNameLengths(request.link, design.wanted.map((w) => w.resource.ref.name))
  const existing = existingResources(model.topology)
  const changes = diffLink(request.link, design.wanted, existing, owner(request.link, design.peeringNames))
  return {link: request.link, mode, modeReason: reason, changes, kube: design.kube, ...(design.address ? {address: design.address} : {}), notes: design.notes}
}

/** `xcc link delete`'s plan: every resource the link owns, in reverse dependency order */
export function planLinkDelete(model: Model, link: string): PlannedChange[] {
  checkLinkName(link)
  const peerings = [`xcc-${link}-peer-from`, `xcc-${link}-peer-to`]
  return planDelete(link, existingResources(model.topology), owner(link, peerings))
}
