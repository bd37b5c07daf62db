/**
 * The names `xcc dns link` serves: `<service>.<namespace>.<cluster>.<domain>`. The domain (default
 * `clusters.xcc.test`) must be a name pods can resolve through their cluster's DNS without it
 * taking over names they already resolve:
 *
 * - RFC 1035 labels (letters, digits, hyphens; a letter first; 63 characters at most), 253 in all;
 * - not `cluster.local` nor the cluster's own domain, nor a name under or over either (a stub
 *   domain `local` would take every `*.cluster.local` name from the cluster's own DNS);
 * - not under a delegated public TLD (`global` is one) unless `--allow-public-domain`: the stub
 *   domain would hide the real names there from every pod of the cluster.
 */
import {XccError} from '../errors.js'
import {PUBLIC_SUFFIXES, PUBLIC_TLDS} from './public-tlds.js'

export const DEFAULT_DOMAIN = 'clusters.xcc.test'
export const KUBERNETES_DOMAIN = 'cluster.local'
/** the longest name: 253 characters without the final dot (RFC 1035 §2.3.4: 255 octets on the wire) */
export const MAX_NAME = 253
const LABEL = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/** why `label` is not an RFC 1035 label, or undefined */
export function labelProblem(label: string): string | undefined {
  if (label.length === 0) return 'it has an empty label'
  if (label.length > 63) return `its label "${label.slice(0, 20)}…" is longer than 63 characters`
  if (!LABEL.test(label)) return `its label "${label}" is not an RFC 1035 label (a letter, then letters, digits or hyphens, not ending with a hyphen)`
  return undefined
}

/** a domain written by a user: lowercase, without a final dot */
export function normalizeDomain(text: string): string {
  return text.trim().toLowerCase().replace(/\.$/, '')
}

/** `a` is `b` or a name under it */
export function isWithin(a: string, b: string): boolean {
  return b === '' || a === b || a.endsWith(`.${b}`)
}

export interface DomainCheck {
  /** the domain, normalized */
  readonly domain: string
  /** a domain under a public TLD taken with --allow-public-domain: what it shadows */
  readonly warning?: string
}

export interface DomainOptions {
  /** the cluster's own domain (kubelet's clusterDomain), when it is not cluster.local */
  readonly clusterDomain?: string
  readonly allowPublicDomain: boolean
  /** the flag that gave the domain, for messages */
  readonly flag?: string
}

/** what a domain under a public TLD shadows, for the warning and the refusal */
export function publicShadow(domain: string): string | undefined {
  const labels = domain.split('.')
  const tld = labels[labels.length - 1] as string
  if (!PUBLIC_TLDS.has(tld)) return undefined
  if (labels.length === 1) return `"${domain}" is a public top-level domain delegated in the root zone: the stub domain would hide every real name under .${tld} from the cluster's pods`
  const suffix = labels.slice(-2).join('.')
  if (PUBLIC_SUFFIXES.has(domain)) return `"${domain}" is a public suffix under the top-level domain .${tld}: the stub domain would hide every name registered under it from the cluster's pods`
  const registered = PUBLIC_SUFFIXES.has(suffix) && labels.length > 2 ? labels.slice(-3).join('.') : suffix
  return `"${domain}" is under the public top-level domain .${tld}: the stub domain would hide the real names under ${domain}${registered !== domain ? ` (part of the public name ${registered})` : ''} from the cluster's pods`
}

/** checks a --domain; an unusable one is bad input (exit 2) naming the flag and why */
export function checkDomain(text: string, options: DomainOptions): DomainCheck {
  const flag = options.flag ?? '--domain'
  const domain = normalizeDomain(text)
  const bad = (why: string, hint?: string): never => {
    throw new XccError(`${flag} ${text}: ${why}`, {hint: hint ?? `use a name of your own under a reserved TLD, e.g. ${DEFAULT_DOMAIN} (the default)`})
  }
  if (domain.length === 0) bad('the domain is empty')
  if (domain.length > MAX_NAME) bad(`it is ${domain.length} characters long; a DNS name has at most ${MAX_NAME}`)
  for (const label of domain.split('.')) {
    const problem = labelProblem(label)
    if (problem) bad(problem)
  }
  const own = [KUBERNETES_DOMAIN, ...(options.clusterDomain ? [normalizeDomain(options.clusterDomain)] : [])]
  for (const d of [...new Set(own)]) {
    const which = d === KUBERNETES_DOMAIN ? `the Kubernetes cluster domain ${d}` : `the cluster's own domain ${d}`
    if (domain === d) bad(`it is ${which}: the cluster's own DNS answers it, a stub domain cannot take it over`)
    if (isWithin(domain, d)) bad(`it is under ${which}, which the cluster's own DNS answers`)
    if (isWithin(d, domain)) bad(`it holds ${which}: a stub domain for it would take every ${d} name from the cluster's own DNS`)
  }
  const shadow = publicShadow(domain)
  if (shadow !== undefined) {
    if (!options.allowPublicDomain) bad(shadow, `pass --allow-public-domain if that is what you want, or use a name under a reserved TLD such as ${DEFAULT_DOMAIN}`)
    return {domain, warning: shadow}
  }
  return {domain}
}

/**
 * The DNS label of a cluster in the names xcc serves, from its kube context: GKE's contexts
 * (`gke_<project>_<location>_<cluster>`) give the cluster's name; any other context is lowercased
 * with every character a label cannot hold turned into a hyphen.
 */
export function clusterLabel(context: string): string {
  const gke = /^gke_[^_]+_[^_]+_(.+)$/.exec(context)
  const raw = (gke ? (gke[1] as string) : context).toLowerCase()
  const label = raw.replace(/[^a-z0-9-]+/g, '-').replace(/^[^a-z]+/, '').replace(/-+$/, '').slice(0, 63).replace(/-+$/, '')
  const problem = labelProblem(label)
  if (problem) throw new XccError(`context "${context}": cannot make a DNS label of it (${problem})`, {hint: 'rename the context (kubectl config rename-context) to the cluster\'s name'})
  return label
}

/** the zone of one link: `<cluster>.<domain>`, checked to leave room for `<service>.<namespace>.` */
export function linkZone(cluster: string, domain: string): string {
  const zone = `${cluster}.${domain}`
  if (zone.length > MAX_NAME - 4) throw new XccError(`the zone ${zone} is too long to hold any service name (a DNS name has at most ${MAX_NAME} characters)`, {hint: 'use a shorter --domain'})
  return zone
}
