/**
 * The names GCP and Kubernetes accept, with the rule as a message can state it. The topology
 * loader holds every name of a file to the rule of what it names, so that a file the doctor
 * accepts is one the lab can build (certificates, kube objects, kube-proxy's rule comments) and
 * one GCP could hold; the CLI holds namespace flags to Kubernetes' rule, so that `..` cannot turn
 * `/namespaces/../pods` into every namespace's pods.
 */

import {XccError} from './errors.js'

export interface NameRule {
  /** "a GCP resource name" */
  readonly what: string
  readonly pattern: RegExp
  /** "1-63 lowercase letters, digits or dashes, …" */
  readonly rule: string
}

const RFC1035_63 = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/
const RFC1123_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/
const RFC1035_RULE = '1-63 lowercase letters, digits or dashes, starting with a letter and not ending with a dash'
const RFC1123_LABEL_RULE = '1-63 lowercase letters, digits or dashes, starting and ending with a letter or digit'

/** Compute Engine resources: networks, subnets, peerings, routes, firewalls, instances, forwarding rules, backend services, secondary ranges ([a-z]([-a-z0-9]{0,61}[a-z0-9])?) */
export const GCP_NAME: NameRule = {what: 'a GCP resource name', pattern: RFC1035_63, rule: RFC1035_RULE}

/** network tags (RFC 1035, as the Compute API requires of tags.items) */
export const NETWORK_TAG: NameRule = {what: 'a network tag', pattern: RFC1035_63, rule: RFC1035_RULE}

/** GKE cluster names: a letter, then up to 39 lowercase letters, digits or dashes, not ending with a dash */
export const GKE_CLUSTER_NAME: NameRule = {what: 'a GKE cluster name', pattern: /^[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?$/, rule: '1-40 lowercase letters, digits or dashes, starting with a letter and not ending with a dash'}

/** Kubernetes namespaces (an RFC 1123 label) */
export const NAMESPACE_NAME: NameRule = {what: 'a Kubernetes namespace name (an RFC 1123 label)', pattern: RFC1123_LABEL, rule: RFC1123_LABEL_RULE}

/** Kubernetes pods (an RFC 1123 subdomain) */
export const POD_NAME: NameRule = {
  what: 'a Kubernetes pod name (an RFC 1123 subdomain)',
  pattern: /^(?=.{1,253}$)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/,
  rule: '1-253 lowercase letters, digits, dashes or dots, each part between dots starting and ending with a letter or digit',
}

/** Kubernetes Services (an RFC 1035 label) */
export const SERVICE_NAME: NameRule = {what: 'a Kubernetes Service name (an RFC 1035 label)', pattern: RFC1035_63, rule: '1-63 lowercase letters, digits or dashes, starting with a letter and ending with a letter or digit'}

/** a Service port's name (an RFC 1123 label) */
export const PORT_NAME: NameRule = {what: 'a Kubernetes port name (an RFC 1123 label)', pattern: RFC1123_LABEL, rule: RFC1123_LABEL_RULE}

/** "must be a GCP resource name: 1-63 lowercase letters, …" */
export function ruleMessage(rule: NameRule): string {
  return `must be ${rule.what}: ${rule.rule}`
}

/** undefined when `name` follows the rule, else the rule as a message */
export function nameProblem(name: string, rule: NameRule): string | undefined {
  return rule.pattern.test(name) ? undefined : ruleMessage(rule)
}

/** A namespace given on the command line: exit 2 unless it is a namespace name (`..` would address every namespace). */
export function checkNamespaceFlag(flag: string, namespace: string): void {
  const problem = nameProblem(namespace, NAMESPACE_NAME)
  if (problem) throw new XccError(`${flag} ${JSON.stringify(namespace)}: ${problem}`, {exitCode: 2, hint: `pass the name of a namespace, such as default, to ${flag}`})
}
