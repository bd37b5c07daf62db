/**
 * Names of everything a lab creates. Namespaces carry the lab name (`xcc-<lab>-…`) so that
 * `xcc lab down` finds exactly its own; interface names stay within Linux's 15 characters
 * because they are short and local to their namespace.
 */

/** lowercase letters, digits and dashes, starting with a letter: fits in namespace and file names */
export const LAB_NAME_PATTERN = /^[a-z](?:[a-z0-9-]{0,22}[a-z0-9])?$/

export const DEFAULT_LAB_NAME = 'xcc'

export function labNameProblem(name: string): string | undefined {
  if (LAB_NAME_PATTERN.test(name)) return undefined
  return 'a lab name is 1-24 lowercase letters, digits or dashes, starting with a letter and not ending with a dash'
}

/** every namespace of lab `lab` starts with this */
export function labPrefix(lab: string): string {
  return `xcc-${lab}-`
}

export function namespaceName(lab: string, role: 'net' | 'vm' | 'node' | 'pod', index: number): string {
  return `${labPrefix(lab)}${role}${index}`
}

/** True when a namespace name belongs to lab `lab` (and not to a lab whose name merely starts alike). */
export function belongsToLab(lab: string, ns: string): boolean {
  return new RegExp(`^${labPrefix(lab).replace(/[-]/g, '\\-')}(net|vm|node|pod)\\d+$`).test(ns)
}

/** router side of an instance NIC */
export function routerIface(host: number, nic: number): string {
  return `h${host}n${nic}`
}

/** router side of a peering link */
export function peerIface(peerNetwork: number): string {
  return `p${peerNetwork}`
}

/** node side of a routes-based pod's veth (attached to cbr0) */
export function podVethIface(pod: number): string {
  return `vp${pod}`
}

/** `ip link … alias` text (no spaces, so it survives `ip -batch`) naming the lab and the link's purpose */
export function linkAlias(lab: string, what: string): string {
  return `xcc-lab=${lab};${what}`.replace(/\s+/g, '_').replace(/[^\w=;./<>:-]/g, '_').slice(0, 250)
}
