/**
 * What the user sees on the wire (PROBE-01, ILB-07): the SYN as tcpdump prints it on the
 * client's node, and where it or its SYN-ACK is lost.
 */
import type {PathTrace} from '../trace/types.js'
import {type DoctorContext, endStep} from './check.js'

/** the VM or node the flow's packets leave from (a pod's node) */
export function sourceHost(ctx: DoctorContext): string {
  const s = ctx.flow.source
  return s.kind === 'pod' ? s.node.name : s.instance.name
}

export function describeSymptom(ctx: DoctorContext, path: PathTrace): string | undefined {
  if (ctx.flow.packet.protocol !== 'tcp') return undefined
  const host = sourceHost(ctx)
  const leaving = path.forward.find((s) => (s.host.kind === 'node' || s.host.kind === 'instance') && s.host.name === host && (s.step === 'APPLY_EGRESS_FIREWALL_RULE' || s.step === 'DROP'))
  if (!leaving) return undefined
  const p = leaving.packet
  const wire = `IP ${p.src}.${p.srcPort} > ${p.dst}.${p.dstPort}: Flags [S]`
  const name = host
  const forwardEnd = endStep(path.forward)
  if (forwardEnd) {
    return `symptom: tcpdump -nn on ${name} shows "${wire}" again and again (SYN retransmits after 1 s, 2 s, 4 s …) and no reply: the SYN is dropped at ${forwardEnd.at}`
  }
  const returnEnd = endStep(path.return)
  const delivered = [...path.forward].reverse().find((s) => s.step === 'DELIVER')
  if (returnEnd && delivered) {
    return `symptom: tcpdump -nn on ${name} shows "${wire}" again and again and never a SYN-ACK: the SYN reaches ${delivered.at}, but its SYN-ACK is dropped at ${returnEnd.at} on the way back`
  }
  return undefined
}
