/**
 * Desired state → plan (design.md habit 7) for `xcc dns link|unlink`: the responder's objects
 * (ConfigMap, Deployment, Service) and the one DNS ConfigMap edit (kube-dns `stubDomains`, the
 * CoreDNS Corefile, or a `coredns-custom` key), computed from the gathered state without touching
 * it, so a dry run prints what a real run does and a second run plans nothing.
 *
 * The stub domain points at the responder's ClusterIP, which exists only once its Service does:
 * the plan carries `configFor(address)`, and applying a link creates the responder first, then
 * plans the DNS edit with the address the API gave (a dry run shows the Service's DNS name).
 */
import {XccError} from '../errors.js'
import {MANAGED_BY, MANAGED_BY_LABEL} from '../kube/labels.js'
import type {KubeConfigMap, KubeDeployment, KubeService} from '../ports/kube.js'
import {chainHash} from '../topology/node-rules.js'
import {type LinkBlock, checkNoConflict, linkCorefile, renderLinkBlock, unlinkCorefile, xccBlocks} from './corefile-edit.js'
import {parseCorefile} from './corefile.js'
import {KUBE_DNS_CONFIGMAP, KUBE_DNS_NAMESPACE, type KubeDnsEdit, kubeDnsLinks, linkKubeDns, unlinkKubeDns} from './kube-dns.js'
import type {RecordSet} from './records.js'
import {DEFAULT_RESPONDER_IMAGE, RESPONDER_LINKS_ANNOTATION, RESPONDER_NAME, RESPONDER_NAMESPACE, type ResponderLink, readResponderLinks, renderResponder} from './responder.js'
import {ADDON_MODE_LABEL, COREDNS_CONFIGMAP, COREDNS_CUSTOM_CONFIGMAP, COREFILE_KEY, type DnsProvider, type DnsState, corefileWhere} from './state.js'

export const SPEC_HASH_ANNOTATION = 'xcc.dev/spec-hash'
/** what a dry run shows for the responder's address before its Service exists */
export const PENDING_ADDRESS = `${RESPONDER_NAME}.${RESPONDER_NAMESPACE}.svc.cluster.local`

export type DnsAction = 'create' | 'update' | 'delete' | 'none'

export type DnsChange =
  | {readonly kind: 'ConfigMap'; readonly namespace: string; readonly name: string; readonly action: DnsAction; readonly before?: KubeConfigMap; readonly after?: KubeConfigMap}
  | {readonly kind: 'Deployment'; readonly namespace: string; readonly name: string; readonly action: DnsAction; readonly before?: KubeDeployment; readonly after?: KubeDeployment}
  | {readonly kind: 'Service'; readonly namespace: string; readonly name: string; readonly action: DnsAction; readonly before?: KubeService; readonly after?: KubeService}

export interface LinkTarget {
  /** B's DNS label, its kube context, the domain and the zone `<B>.<domain>` */
  readonly cluster: string
  readonly context: string
  readonly domain: string
  readonly zone: string
}

export interface DnsPlan {
  readonly verb: 'link' | 'unlink'
  readonly context: string
  readonly provider: DnsProvider
  readonly why: string
  readonly target: LinkTarget
  /** link: the records B has now */
  readonly records?: RecordSet
  readonly services?: 'all' | readonly string[]
  /** a public domain taken with --allow-public-domain: what it shadows */
  readonly warning?: string
  /** the responder's objects, in the order they are applied */
  readonly responder: readonly DnsChange[]
  /** the responder's ClusterIP, when its Service exists */
  readonly address?: string
  /** the DNS ConfigMap edit, planned with `address` (or PENDING_ADDRESS) */
  readonly config: DnsChange
  /** the DNS ConfigMap edit for the responder at `address` (link: once its Service exists) */
  readonly configFor: (address: string) => DnsChange
}

export interface LinkOptions {
  readonly records: RecordSet
  readonly services: 'all' | readonly string[]
  readonly template: string
  /** --responder-image; undefined: the image that runs now, else the default */
  readonly image: string
  readonly force: boolean
  readonly warning?: string
}

const configMapChange = (namespace: string, name: string, edit: KubeDnsEdit): DnsChange => ({kind: 'ConfigMap', namespace, name, action: edit.action, ...(edit.before ? {before: edit.before} : {}), ...(edit.after ? {after: edit.after} : {})})

/** the objects xcc finds under the responder's name must be its own */
function checkOwned(state: DnsState): void {
  const {configMap, deployment, service} = state.responder
  for (const [kind, object] of [['ConfigMap', configMap], ['Deployment', deployment], ['Service', service]] as const) {
    if (object && object.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) {
      throw new XccError(`${kind} ${RESPONDER_NAMESPACE}/${RESPONDER_NAME} exists in context "${state.context}" and xcc did not create it (no ${MANAGED_BY_LABEL}=${MANAGED_BY} label)`, {hint: 'xcc does not take over objects it did not create; rename or remove it'})
    }
  }
}

/** replaces `before`'s content with `after`'s, keeping the server's identity (resourceVersion: a concurrent change fails) */
function keepIdentity<T extends {metadata: KubeConfigMap['metadata']}>(before: T | undefined, after: T): T {
  return before?.metadata.resourceVersion ? {...after, metadata: {...after.metadata, resourceVersion: before.metadata.resourceVersion}} : after
}

function responderChanges(state: DnsState, links: readonly ResponderLink[], template: string, image: string): DnsChange[] {
  const {configMap, deployment, service} = state.responder
  const base = {namespace: RESPONDER_NAMESPACE, name: RESPONDER_NAME}
  if (links.length === 0) {
    return [
      {kind: 'Service', ...base, action: service ? 'delete' : 'none', ...(service ? {before: service} : {})},
      {kind: 'Deployment', ...base, action: deployment ? 'delete' : 'none', ...(deployment ? {before: deployment} : {})},
      {kind: 'ConfigMap', ...base, action: configMap ? 'delete' : 'none', ...(configMap ? {before: configMap} : {})},
    ]
  }
  const objects = renderResponder(template, links, {image})
  const sameData = configMap && JSON.stringify(configMap.data ?? {}) === JSON.stringify(objects.configMap.data) && configMap.metadata.annotations?.[RESPONDER_LINKS_ANNOTATION] === objects.configMap.metadata.annotations?.[RESPONDER_LINKS_ANNOTATION]
  const hash = chainHash(JSON.stringify(objects.deployment.spec))
  const built: KubeDeployment = {...objects.deployment, metadata: {...objects.deployment.metadata, annotations: {...objects.deployment.metadata.annotations, [SPEC_HASH_ANNOTATION]: hash}}}
  const sameSpec = deployment?.metadata.annotations?.[SPEC_HASH_ANNOTATION] === hash
  return [
    {kind: 'ConfigMap', ...base, action: sameData ? 'none' : configMap ? 'update' : 'create', ...(configMap ? {before: configMap} : {}), after: sameData ? configMap : keepIdentity(configMap, objects.configMap)},
    {kind: 'Deployment', ...base, action: sameSpec ? 'none' : deployment ? 'update' : 'create', ...(deployment ? {before: deployment} : {}), after: sameSpec ? deployment : keepIdentity(deployment, built)},
    {kind: 'Service', ...base, action: service ? 'none' : 'create', ...(service ? {before: service} : {}), after: service ?? objects.service},
  ]
}

/** the image the responder runs now */
export function responderImage(deployment: KubeDeployment | undefined): string | undefined {
  const containers = deployment?.spec.template.spec.containers
  const image = Array.isArray(containers) ? (containers[0] as {image?: unknown} | undefined)?.image : undefined
  return typeof image === 'string' ? image : undefined
}

/** the `coredns-custom` key of a link */
export const customKey = (zone: string): string => `xcc-${zone}.server`

function customFiles(state: DnsState, except?: string): {name: string; text: string}[] {
  return Object.entries(state.corednsCustom?.data ?? {}).filter(([k]) => k.endsWith('.server') && k !== except)
    .map(([k, text]) => ({name: `ConfigMap ${KUBE_DNS_NAMESPACE}/${COREDNS_CUSTOM_CONFIGMAP} key "${k}"`, text}))
}

function corefileChange(state: DnsState, next: (text: string) => {text: string; changed: boolean}): DnsChange {
  const cm = state.coredns as KubeConfigMap
  const {text, changed} = next(cm.data?.[COREFILE_KEY] ?? '')
  const after: KubeConfigMap = {...cm, data: {...cm.data, [COREFILE_KEY]: text}}
  return {kind: 'ConfigMap', namespace: KUBE_DNS_NAMESPACE, name: COREDNS_CONFIGMAP, action: changed ? 'update' : 'none', before: cm, after: changed ? after : cm}
}

function customChange(state: DnsState, key: string, value: string | undefined): DnsChange {
  const cm = state.corednsCustom as KubeConfigMap
  const data: Record<string, string> = {...(cm.data ?? {})}
  if (value === undefined) delete data[key]
  else data[key] = value
  const changed = cm.data?.[key] !== value
  return {kind: 'ConfigMap', namespace: KUBE_DNS_NAMESPACE, name: COREDNS_CUSTOM_CONFIGMAP, action: changed ? 'update' : 'none', before: cm, after: changed ? {...cm, data} : cm}
}

/** the DNS ConfigMap edit that sends the zone to `targets` */
function linkConfig(state: DnsState, target: LinkTarget, targets: readonly string[], options: {force: boolean; pending: boolean}): DnsChange {
  const block: LinkBlock = {cluster: target.cluster, domain: target.domain, zone: target.zone, targets}
  if (state.provider === 'kube-dns') {
    return configMapChange(KUBE_DNS_NAMESPACE, KUBE_DNS_CONFIGMAP, linkKubeDns(state.kubeDns, {...block}, {force: options.force, pending: options.pending}))
  }
  const corefile = state.coredns?.data?.[COREFILE_KEY] ?? ''
  if (state.provider === 'coredns-custom') {
    const key = customKey(target.zone)
    checkNoConflict(parseCorefile(corefile, corefileWhere), corefileWhere, block, customFiles(state, key))
    return customChange(state, key, renderLinkBlock(block))
  }
  if (state.coredns?.metadata.labels?.[ADDON_MODE_LABEL] === 'Reconcile') {
    throw new XccError(`ConfigMap ${KUBE_DNS_NAMESPACE}/${COREDNS_CONFIGMAP} in context "${state.context}" is reconciled by the add-on manager (${ADDON_MODE_LABEL}: Reconcile): an edit of its Corefile would be undone`, {
      exitCode: 3, hint: `give the Corefile an "import custom/*.server" line and create ConfigMap ${KUBE_DNS_NAMESPACE}/${COREDNS_CUSTOM_CONFIGMAP} (mounted at custom/), and xcc puts its block there`,
    })
  }
  return corefileChange(state, (text) => linkCorefile(text, block, corefileWhere, customFiles(state)))
}

function unlinkConfig(state: DnsState, target: LinkTarget): DnsChange {
  if (state.provider === 'kube-dns') return configMapChange(KUBE_DNS_NAMESPACE, KUBE_DNS_CONFIGMAP, unlinkKubeDns(state.kubeDns, target))
  if (state.provider === 'coredns-custom') return customChange(state, customKey(target.zone), undefined)
  return corefileChange(state, (text) => unlinkCorefile(text, target, corefileWhere))
}

export function planLink(state: DnsState, target: LinkTarget, options: LinkOptions): DnsPlan {
  checkOwned(state)
  const served = readResponderLinks(state.responder.configMap)
  const same = served.find((l) => l.zone === target.zone && l.context !== target.context)
  if (same) {
    throw new XccError(`zone ${target.zone} is already linked to context "${same.context}" in context "${state.context}": two clusters named ${target.cluster} cannot share it`, {hint: `use another --domain for one of them, or unlink the other first: xcc dns unlink --from-context ${state.context} --to-context ${same.context} --domain ${target.domain}`})
  }
  const others = served.filter((l) => l.zone !== target.zone)
  const link: ResponderLink = {...target, services: options.services, records: options.records.records}
  const responder = responderChanges(state, [...others, link], options.template, options.image)
  const address = state.responder.service?.spec?.clusterIP
  const configFor = (ip: string): DnsChange => linkConfig(state, target, [ip], {force: options.force, pending: ip === PENDING_ADDRESS})
  return {
    verb: 'link', context: state.context, provider: state.provider, why: state.why, target, records: options.records, services: options.services,
    ...(options.warning ? {warning: options.warning} : {}), responder, ...(address ? {address} : {}),
    config: configFor(address ?? PENDING_ADDRESS), configFor,
  }
}

export function planUnlink(state: DnsState, target: LinkTarget, options: {template: string}): DnsPlan {
  checkOwned(state)
  const links = readResponderLinks(state.responder.configMap)
  const served = links.some((l) => l.zone === target.zone)
  const image = responderImage(state.responder.deployment) ?? DEFAULT_RESPONDER_IMAGE
  const responder: DnsChange[] = served
    ? responderChanges(state, links.filter((l) => l.zone !== target.zone), options.template, image)
    : [{kind: 'ConfigMap', namespace: RESPONDER_NAMESPACE, name: RESPONDER_NAME, action: 'none', ...(state.responder.configMap ? {before: state.responder.configMap, after: state.responder.configMap} : {})}]
  const config = unlinkConfig(state, target)
  const address = state.responder.service?.spec?.clusterIP
  return {verb: 'unlink', context: state.context, provider: state.provider, why: state.why, target, responder, ...(address ? {address} : {}), config, configFor: () => config}
}

/** the changes of a plan in the order they are applied: link → responder, then DNS; unlink → DNS, then responder */
export function orderedChanges(plan: DnsPlan): DnsChange[] {
  const all = plan.verb === 'link' ? [...plan.responder, plan.config] : [plan.config, ...plan.responder]
  return all.filter((c) => c.action !== 'none')
}

/** the links A's DNS configuration holds (zones), whatever the provider */
export function configuredZones(state: DnsState): string[] {
  if (state.provider === 'coredns-custom') return Object.keys(state.corednsCustom?.data ?? {}).flatMap((k) => /^xcc-(.+)\.server$/.exec(k)?.[1] ?? [])
  if (state.provider === 'coredns') return xccBlocks(state.coredns?.data?.[COREFILE_KEY] ?? '', corefileWhere).map((b) => `${b.cluster}.${b.domain}`)
  return kubeDnsLinks(state.kubeDns).map((l) => l.zone)
}
