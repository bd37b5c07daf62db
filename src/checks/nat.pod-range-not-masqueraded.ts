import {type Check, allSteps, unique} from '../core/doctor/check.js'
import {IntervalSet} from '../core/net/interval-set.js'
import {cidr, formatCidr} from '../core/net/ipv4.js'
import type {ClusterFacts} from '../core/topology/model-types.js'
import {GKE_DEFAULT_NON_MASQUERADE} from '../core/topology/node-rules.js'

/** SNAT-17: when the non-masquerade list does not cover the cluster's own pod range, pod-to-pod traffic is SNATed. */
function uncovered(cluster: ClusterFacts): string | undefined {
  const masq = cluster.spec.masquerade
  let list: string[]
  if ('kubenet' in masq) list = [masq.kubenet.nonMasqueradeCidr]
  else if ('ipMasq' in masq) list = masq.ipMasq.nonMasqueradeCIDRs ?? GKE_DEFAULT_NON_MASQUERADE.map(([r]) => r)
  else return undefined
  const missing = IntervalSet.of([cluster.podRange]).subtract(IntervalSet.of(list.map((r) => cidr(r))))
  return missing.isEmpty() ? undefined : missing.toString()
}

export const check: Check = {
  id: 'nat.pod-range-not-masqueraded',
  title: "Each cluster on the path keeps its own pod range in its non-masquerade list",
  severity: 'warning',
  rules: ['SNAT-17', 'SNAT-03', 'SNAT-12'],
  run: (ctx) => {
    const names = unique([
      ...(ctx.flow.source.kind === 'pod' ? [ctx.flow.source.cluster.name] : []),
      ...allSteps(ctx).flatMap((s) => {
        const node = s.host.kind === 'node' ? ctx.model.nodes.get(s.host.name) : undefined
        return node ? [node.cluster] : []
      }),
    ])
    const clusters = names.map((n) => ctx.model.clusters.get(n) as ClusterFacts).filter((c) => !c.nodes.some((n) => ctx.model.instances.get(n.name)?.guest.rulesOrigin === 'node.iptables'))
    if (clusters.length === 0) return [{status: 'skip', summary: 'no cluster on the path derives its rules from masquerade'}]
    return clusters.map((c) => {
      const missing = uncovered(c)
      return missing
        ? {status: 'warn' as const, summary: `cluster ${c.name} masquerades traffic to its own pods in ${missing}: pod-to-pod traffic loses the pod address (SNAT-17)`, evidence: [`cluster ${c.name}: pod range ${formatCidr(c.podRange)} is not fully in its non-masquerade list`]}
        : {status: 'pass' as const, summary: `cluster ${c.name} does not masquerade its own pod range ${formatCidr(c.podRange)}`}
    })
  },
}
