/**
 * Wires `xcc dns link|unlink|list` to the outside world: the two kube contexts, permissions asked
 * before anything is read or written (a refusal names the permission, exit 3), the responder's
 * template, Ctrl-C, and progress on stderr. The decisions are core/dns's.
 */
import {parseDuration} from '../core/duration.js'
import {XccError} from '../core/errors.js'
import {checkAccess} from '../core/kube/access.js'
import {checkImage} from '../core/kube/image.js'
import {visible} from '../core/shell.js'
import {type DnsApplied, applyDnsPlan} from '../core/dns/apply.js'
import {checkDomain, clusterLabel, linkZone} from '../core/dns/domain.js'
import {type DnsListing, listDnsLinks} from '../core/dns/list.js'
import {type DnsPlan, type LinkTarget, planLink, planUnlink, responderImage} from '../core/dns/plan.js'
import {recordSet} from '../core/dns/records.js'
import {DEFAULT_RESPONDER_IMAGE} from '../core/dns/responder.js'
import {DNS_ROLE, clusterDomainOf, loadDnsState, readAccess, remoteAccess, responderPodsAccess, writeAccess} from '../core/dns/state.js'
import type {GceForwardingRule} from '../core/ports/gcp.js'
import type {KubeCluster, KubeContexts} from '../core/ports/kube.js'
import {clock, cloud, openKube, templates} from './deps.js'
import {interruptible} from './interrupt.js'

export interface DnsPairFlags {
  readonly fromContext: string
  readonly toContext: string
  readonly domain: string
  readonly dryRun: boolean
  readonly output?: string
  readonly kubeconfig?: string
}

export interface DnsLinkFlags extends DnsPairFlags {
  /** the Google Cloud project of --to-context's cluster (where xcc link's forwarding rules are) */
  readonly project?: string
  readonly service?: readonly string[]
  readonly allowPublicDomain: boolean
  readonly force: boolean
  readonly responderImage?: string
  /** how long the responder may take to become ready (a duration: 2m, 90s) */
  readonly timeout: string
}

/** what `link` and `unlink` did: the plan, and what was applied (undefined for a dry run) */
export interface DnsWriteResult {
  readonly plan: DnsPlan
  readonly applied?: DnsApplied
}

/** how long reading a project's forwarding rules may take */
const RULES_TIMEOUT_MS = 60_000

const progress = (text: string): void => {
  process.stderr.write(`xcc: ${visible(text)}\n`)
}

function checkOutput(flags: DnsPairFlags): void {
  if (flags.output === undefined) return
  if (!flags.dryRun) throw new XccError(`-o ${flags.output} needs --dry-run`, {hint: 'xcc dns link … --dry-run -o yaml prints the manifests without applying them'})
  if (flags.output !== 'yaml' && flags.output !== 'diff') throw new XccError(`-o ${flags.output}: expected yaml or diff`)
}

/** `--service NS/NAME`, each checked */
function parseServices(values: readonly string[] | undefined): string[] | undefined {
  if (!values || values.length === 0) return undefined
  const out = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean)
  for (const s of out) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z]([-a-z0-9]*[a-z0-9])?$/.test(s)) throw new XccError(`--service ${s}: expected NAMESPACE/NAME (lowercase DNS labels)`)
  }
  return [...new Set(out)]
}

function target(flags: DnsPairFlags, domain: string): LinkTarget {
  if (flags.fromContext === flags.toContext) throw new XccError(`--from-context and --to-context are both "${flags.fromContext}": a cluster reaches its own Services through cluster.local`)
  const cluster = clusterLabel(flags.toContext)
  return {cluster, context: flags.toContext, domain, zone: linkZone(cluster, domain)}
}

async function execute(cluster: KubeCluster, plan: DnsPlan, dryRun: boolean, timeoutMs = 0): Promise<DnsWriteResult> {
  if (dryRun) return {plan}
  const pods = responderPodsAccess()
  const denied = await checkAccess(cluster, [...writeAccess(), ...(plan.verb === 'link' ? [pods] : [])], DNS_ROLE)
  const canListPods = plan.verb === 'link' && !denied.includes(pods)
  const applied = await interruptible((signal) => applyDnsPlan(plan, {cluster, signal, progress, clock, timeoutMs, canListPods}), 'stopping after the current write (what was written stays; run the command again to finish)')
  return {plan, applied}
}

/**
 * The forwarding rules of B's project, for the Services whose internal address is the one an
 * `xcc link` made (their forwarding rule names them; a NodePort Service has no load balancer of its
 * own). The project is found as every Google Cloud command finds it (§4: --project, the
 * environment, gcloud's configuration, the context's name); without one, or when the API cannot
 * be read, the rules are not given, and why.
 */
async function projectRules(project: string | undefined, context: string, timeoutMs: number, read = new Map<string, Promise<GceForwardingRule[]>>()): Promise<{forwardingRules: GceForwardingRule[]} | {rulesUnread: string}> {
  const choice = cloud.knownProject({...(project ? {project} : {}), contexts: [context]})
  if (!choice) return {rulesUnread: 'no Google Cloud project known (--project, CLOUDSDK_CORE_PROJECT, or gcloud config set project)'}
  try {
    // `read`: the rules of each project once per command (dns list asks for every link's cluster)
    let rules = read.get(choice.project)
    if (!rules) read.set(choice.project, (rules = cloud.open({project: choice.project, timeoutMs}).then((gcp) => gcp.compute.listForwardingRules())))
    return {forwardingRules: await rules}
  } catch (error) {
    if (error instanceof XccError) return {rulesUnread: `project ${choice.project}: ${error.message}`}
    throw error
  }
}

async function openPair(flags: DnsPairFlags): Promise<{kube: KubeContexts; a: KubeCluster}> {
  const kube = await openKube(flags.kubeconfig)
  const a = kube.open(flags.fromContext)
  await checkAccess(a, readAccess(), DNS_ROLE)
  return {kube, a}
}

export async function runDnsLink(flags: DnsLinkFlags): Promise<DnsWriteResult> {
  checkOutput(flags)
  checkImage(flags.responderImage)
  const timeoutMs = parseDuration(flags.timeout, 'timeout', {min: 1, max: 3600}) * 1000
  const only = parseServices(flags.service)
  const {domain, warning} = checkDomain(flags.domain, {allowPublicDomain: flags.allowPublicDomain})
  if (warning) progress(`warning: ${warning}`)
  const linkTarget = target(flags, domain)
  const {kube, a} = await openPair(flags)
  const b = kube.open(flags.toContext)
  await checkAccess(b, remoteAccess(), DNS_ROLE)
  const [state, services, rules] = await Promise.all([loadDnsState(a), b.listServices(), projectRules(flags.project, flags.toContext, Math.min(timeoutMs, RULES_TIMEOUT_MS))])
  // the cluster's own domain, once its DNS configuration is read
  const clusterDomain = clusterDomainOf(state)
  if (clusterDomain) checkDomain(flags.domain, {allowPublicDomain: true, clusterDomain})
  if ('rulesUnread' in rules) progress(`the forwarding rules of ${linkTarget.cluster}'s project were not read (${rules.rulesUnread}): a Service only an xcc link made reachable is not served`)
  const records = recordSet({cluster: linkTarget.cluster, domain, services, ...(only ? {only} : {}), ...('forwardingRules' in rules ? {forwardingRules: rules.forwardingRules} : {})})
  for (const s of records.skipped) progress(`${s.service}: not served (${s.why})`)
  const image = flags.responderImage ?? responderImage(state.responder.deployment) ?? DEFAULT_RESPONDER_IMAGE
  const plan = planLink(state, linkTarget, {records, services: only ?? 'all', template: templates.dnsResponder(), image, force: flags.force, ...(warning ? {warning} : {})})
  return execute(a, plan, flags.dryRun, timeoutMs)
}

export async function runDnsUnlink(flags: DnsPairFlags): Promise<DnsWriteResult> {
  checkOutput(flags)
  const {domain} = checkDomain(flags.domain, {allowPublicDomain: true})
  const linkTarget = target(flags, domain)
  const {a} = await openPair(flags)
  const state = await loadDnsState(a)
  return execute(a, planUnlink(state, linkTarget, {template: templates.dnsResponder()}), flags.dryRun)
}

export async function runDnsList(flags: {context: string; kubeconfig?: string; project?: string}): Promise<DnsListing> {
  const kube = await openKube(flags.kubeconfig)
  const a = kube.open(flags.context)
  await checkAccess(a, readAccess(), DNS_ROLE)
  const state = await loadDnsState(a)
  const rulesRead = new Map<string, Promise<GceForwardingRule[]>>()
  return listDnsLinks(state, async (context) => {
    try {
      const b = kube.open(context)
      await checkAccess(b, remoteAccess(), DNS_ROLE)
      const [services, rules] = await Promise.all([b.listServices(), projectRules(flags.project, context, RULES_TIMEOUT_MS, rulesRead)])
      return {services, ...rules}
    } catch (error) {
      if (error instanceof XccError) return {error: error.message}
      throw error
    }
  })
}
