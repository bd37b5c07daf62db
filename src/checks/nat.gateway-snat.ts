import {type Check, allSteps, atSource, unique} from '../core/doctor/check.js'
import {ip} from '../core/net/ipv4.js'

/** ROUTE-10, ILB-06 (seed 000): a gateway that forwards without SNAT hands the far side an address it must route back. */
export const check: Check = {
  id: 'nat.gateway-snat',
  title: 'Gateway VMs masquerade traffic whose source the far side cannot route back',
  severity: 'error',
  rules: ['ROUTE-10', 'ROUTE-11', 'ILB-06'],
  run: (ctx) => {
    const gateways = unique(
      allSteps(ctx)
        .filter((s) => s.step === 'APPLY_EGRESS_FIREWALL_RULE' && s.host.kind === 'instance' && ctx.trace.paths.some((p) => p.forward.includes(s) && p.forward[0] !== s))
        .filter((s) => {
          const vm = ctx.model.instances.get(s.host.name)
          return vm !== undefined && !vm.nics.some((n) => n.ip === ip(s.packet.src)) && !atSource(ctx, s)
        })
        .map((s) => `${s.host.name}|${s.packet.src}`),
    )
    if (gateways.length === 0) return [{status: 'skip', summary: 'no VM forwards the traffic with a source that is not its own'}]
    return gateways.map((g) => {
      const [name, src] = g.split('|') as [string, string]
      if (ctx.trace.verdict !== 'reachable' && ctx.retrace([{kind: 'snat', instance: name}]).verdict === 'reachable') {
        return {status: 'fail' as const, summary: `gateway ${name} forwards ${src} without SNAT, and the flow works only when it masquerades`, evidence: [`gateway ${name} forwards traffic from ${src} unchanged (no SNAT rule in its guest iptables applies)`]}
      }
      return {status: 'pass' as const, summary: `gateway ${name} forwards ${src} without SNAT; masquerading would not change the outcome`}
    })
  },
}
