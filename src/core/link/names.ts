/**
 * How `xcc link` names and marks what it creates (design.md "The cloud wing"): a deterministic
 * name `xcc-<link>-<role>[-<side>]` that GCP accepts (RFC 1035, at most 63 characters), a
 * machine-readable description `{"managed-by":"xcc","link":"<link>","role":"<role>","v":1}` and,
 * where the kind has labels (instances, forwarding rules), `managed-by=xcc, xcc-link=<link>`.
 * xcc keeps no state file: these marks are how a later plan finds its own resources, and how it
 * refuses to touch anything else of the same name.
 */
import {XccError} from '../errors.js'

export const MARK_VERSION = 1
export const MAX_NAME = 63
const RFC1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/

export interface Mark {
  readonly link: string
  readonly role: string
  readonly v: number
}

/** the link name itself: lowercase letters, digits and hyphens, starting with a letter (it is a part of every resource name) */
export function checkLinkName(link: string): void {
  if (!RFC1035.test(link)) {
    throw new XccError(`link name "${link}": must be lowercase letters, digits and hyphens, start with a letter and not end with a hyphen`, {hint: 'e.g. xcc link plan frontend-backend …; it becomes part of GCP resource names (RFC 1035)'})
  }
}

export function resourceName(link: string, role: string, side?: string): string {
  return ['xcc', link, role, ...(side ? [side] : [])].join('-')
}

/** every name a plan uses must fit GCP's 63 characters: exit 2 naming the link and the longest name */
export function checkNameLengths(link: string, names: readonly string[]): void {
  const longest = [...names].sort((a, b) => b.length - a.length || a.localeCompare(b))[0]
  if (longest !== undefined && longest.length > MAX_NAME) {
    throw new XccError(`link name "${link}" is too long: it makes the resource name ${longest} (${longest.length} characters; GCP allows ${MAX_NAME})`, {
      hint: `shorten the link name by at least ${longest.length - MAX_NAME} characters`,
    })
  }
  const bad = names.find((n) => !RFC1035.test(n))
  if (bad) throw new XccError(`link "${link}": the resource name ${bad} is not a valid GCP name (RFC 1035)`, {hint: 'cluster names become part of resource names; use lowercase letters, digits and hyphens'})
}

/**
 * The description every resource of the link carries; the forwarding rule at which the link
 * serves a Service also names it (`service: NS/NAME`), so `xcc dns link` can serve its address.
 */
export function markOf(link: string, role: string, service?: string): string {
  return JSON.stringify({'managed-by': 'xcc', link, role, ...(service ? {service} : {}), v: MARK_VERSION})
}

/** a description read back: the mark when it is one of xcc's, else undefined */
export function parseMark(description: string | undefined): Mark | undefined {
  if (!description) return undefined
  let value: unknown
  try {
    value = JSON.parse(description)
  } catch {
    return undefined
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
  const v = value as Record<string, unknown>
  if (v['managed-by'] !== 'xcc' || typeof v.link !== 'string' || typeof v.role !== 'string' || typeof v.v !== 'number') return undefined
  return {link: v.link, role: v.role, v: v.v}
}

/** is a resource with this description one of the link's own */
export function ownedBy(description: string | undefined, link: string): boolean {
  return parseMark(description)?.link === link
}

/** GCP labels (keys `[a-z0-9_-]`, so not the Kubernetes `xcc.dev/link`) for kinds that take labels */
export function gcpLabels(link: string): Record<string, string> {
  return {'managed-by': 'xcc', 'xcc-link': link}
}
