/**
 * xcc's masquerade DaemonSet keeps its rules on the nodes (templates/masquerade/xcc-masquerade.sh),
 * and the APIs do not show a node's rules: a project read from them derives each node's nat table
 * from the cluster's masquerade setting alone, so a cluster masqueraded by the DaemonSet would
 * look as if its pods kept their address (SNAT-06, SNAT-09). Before the doctor checks a link,
 * the nodes of a cluster whose DaemonSet keeps ranges get the nat table they really have: the
 * derived one, with the DaemonSet's chain (one MASQUERADE per range, then RETURN) jumped to as
 * the first POSTROUTING rule, as the script places it. A node whose rules were read (a snapshot
 * with the nodes' rules) is left as it is. Pure.
 */
import type {Model} from '../topology/model-types.js'
import type {Topology} from '../topology/schema.js'

export const XCC_MASQ_CHAIN = 'XCC-MASQ'

/** the nat table of an iptables-save text (`*nat` … `COMMIT`), undefined when it has none */
function natTable(text: string): string | undefined {
  const lines = text.split('\n')
  const start = lines.findIndex((l) => l.trim() === '*nat')
  if (start < 0) return undefined
  const end = lines.findIndex((l, i) => i > start && l.trim() === 'COMMIT')
  return end < 0 ? undefined : lines.slice(start, end + 1).join('\n')
}

/** a nat table with the DaemonSet's chain and its jump first in POSTROUTING */
export function withXccChain(nat: string, cidrs: readonly string[]): string {
  const lines = nat.split('\n')
  const chains = lines.filter((l) => l.startsWith(':'))
  const rules = lines.filter((l) => l.startsWith('-A '))
  const jump = `-A POSTROUTING -m comment --comment "xcc-masquerade: masquerade pod traffic to peer ranges (must stay first)" -m addrtype ! --dst-type LOCAL -j ${XCC_MASQ_CHAIN}`
  const own = [...cidrs.map((c) => `-A ${XCC_MASQ_CHAIN} -d ${c} -m comment --comment "xcc-masquerade: ${c}" -j MASQUERADE`), `-A ${XCC_MASQ_CHAIN} -m comment --comment "xcc-masquerade owner" -j RETURN`]
  const firstPost = rules.findIndex((r) => r.startsWith('-A POSTROUTING '))
  const ordered = firstPost < 0 ? [...rules, jump] : [...rules.slice(0, firstPost), jump, ...rules.slice(firstPost)]
  const declared = chains.some((c) => c.startsWith(':POSTROUTING ')) ? chains : [...chains, ':POSTROUTING ACCEPT [0:0]']
  return ['*nat', ...declared, `:${XCC_MASQ_CHAIN} - [0:0]`, ...ordered, ...own, 'COMMIT', ''].join('\n')
}

/** the topology with the nodes of `cluster` carrying the DaemonSet's rules for `cidrs` (unchanged when there are none) */
export function withDaemonSetMasquerade(model: Model, cluster: string, cidrs: readonly string[]): Topology {
  if (cidrs.length === 0) return model.topology
  const t = structuredClone(model.topology) as Topology
  const c = t.clusters.find((x) => x.name === cluster)
  for (const node of c?.nodes ?? []) {
    if (node.iptables !== undefined) continue
    const derived = model.instances.get(node.name)?.guest.rulesText
    const nat = derived === undefined ? undefined : natTable(derived)
    // only the nat table: the filter table stays derived from the Services (SVC-06)
    if (nat) (node as {iptables?: string}).iptables = withXccChain(nat, cidrs)
  }
  return t
}
