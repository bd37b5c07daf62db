/**
 * Prediction against observation (design.md habit 5). From a traced path, what each capture
 * should see: the request arriving at a host (after the VPC's ingress firewall let it in) and
 * leaving it (after the host's NAT; the VPC's egress firewall acts outside the VM, so tcpdump
 * sees a packet leave even when the VPC drops it next), and the same for the reply. Each
 * expectation is then matched with the captured packets of that host.
 */
import type {PacketView, PathTrace, Step, StepHost, StepName} from '../trace/types.js'
import {type ObservedPacket, describePacket, packetsOf} from './observe.js'
import type {CaptureObservation, ObservationCheck} from './types.js'

export interface Expectation {
  /** the host's printed name (`node/…`, `instance/…`) */
  readonly host: string
  readonly hostRef: StepHost
  readonly direction: 'forward' | 'return'
  readonly way: 'In' | 'Out'
  readonly packet: PacketView
  readonly step: StepName
  readonly stepAt: string
}

const isHost = (s: Step): boolean => s.host.kind === 'node' || s.host.kind === 'instance'
const sameHost = (a: StepHost, b: {readonly kind: string; readonly name: string}): boolean => a.kind === b.kind && a.name === b.name
const GUEST_DROPS = new Set(['XCC_GUEST_FORWARDING_DISABLED', 'XCC_GUEST_FIREWALL', 'XCC_GUEST_NO_ROUTE', 'XCC_DESTINATION_NOT_LISTENING'])

function expectationsOfSteps(steps: readonly Step[], direction: 'forward' | 'return'): Expectation[] {
  const out: Expectation[] = []
  let i = 0
  while (i < steps.length) {
    const first = steps[i] as Step
    if (!isHost(first)) {
      i += 1
      continue
    }
    let j = i
    while (j + 1 < steps.length && sameHost((steps[j + 1] as Step).host, first.host)) j += 1
    const group = steps.slice(i, j + 1)
    const host = first.at
    const hostRef = first.host
    const arrive = group.find((s) => s.step === 'ARRIVE_AT_INSTANCE')
    const fromLocalPod = i > 0 && !isHost(steps[i - 1] as Step) && (steps[i - 1] as Step).step === 'START_FROM_GKE_POD'
    if (arrive) out.push({host, hostRef, direction, way: 'In', packet: arrive.packet, step: arrive.step, stepAt: host})
    else if (fromLocalPod) out.push({host, hostRef, direction, way: 'In', packet: first.packet, step: first.step, stepAt: host})
    const last = group[group.length - 1] as Step
    const guestDrop = last.step === 'DROP' && GUEST_DROPS.has(last.cause ?? '')
    const next = steps[j + 1]
    if (next && !guestDrop && last.step !== 'ABORT') {
      const egress = [...group].reverse().find((s) => s.step === 'APPLY_EGRESS_FIREWALL_RULE')
      const nat = group.find((s) => s.step === 'NAT' || s.step === 'SKIP_GKE_POD_IP_MASQUERADING')
      out.push({host, hostRef, direction, way: 'Out', packet: egress?.packet ?? next.packet, step: nat?.step ?? (egress ?? first).step, stepAt: host})
    }
    i = j + 1
  }
  return out
}

export function expectationsOf(path: Pick<PathTrace, 'forward' | 'return'>): Expectation[] {
  return [...expectationsOfSteps(path.forward, 'forward'), ...expectationsOfSteps(path.return, 'return')]
}

function same(e: Expectation, p: ObservedPacket): {src: boolean; dst: boolean} {
  const v = e.packet
  if (e.direction === 'forward') return {src: p.src === v.src, dst: p.dst === v.dst && p.dstPort === v.dstPort}
  return {src: p.src === v.src && p.srcPort === v.srcPort, dst: p.dst === v.dst}
}

const show = (v: PacketView): string => `${v.src}${v.srcPort ? `:${v.srcPort}` : ''} > ${v.dst}:${v.dstPort}`

/** The last step of a path's direction, for "observed beyond the predicted end". */
function endOf(path: Pick<PathTrace, 'forward' | 'return'>, direction: 'forward' | 'return'): Step | undefined {
  const steps = direction === 'forward' ? path.forward : path.return
  return steps[steps.length - 1]
}

/**
 * Compares every working capture with the predicted paths. A host's packet is "missing" only
 * when every alternative path passes that host (a load balancer may pick another backend);
 * "unexpected" when no path predicts the packet there at all.
 */
export function compareWithPrediction(paths: ReadonlyArray<Pick<PathTrace, 'forward' | 'return'>>, captures: readonly CaptureObservation[], probeConnected: boolean): ObservationCheck[] {
  const primary = paths[0]
  if (!primary) return []
  const all = paths.map(expectationsOf)
  const checks: ObservationCheck[] = []
  for (const capture of captures.filter((c) => c.status === 'ok')) {
    for (const direction of ['forward', 'return'] as const) {
      const role = direction === 'forward' ? 'request' : 'reply'
      for (const way of ['In', 'Out'] as const) {
        const seen = packetsOf(capture.packets, role, way)
        const predicted = all.map((list) => list.find((e) => sameHost(e.hostRef, capture.host) && e.direction === direction && e.way === way))
        const expectation = predicted.find((e) => e !== undefined)
        if (!expectation) {
          if (seen.length > 0 && way === 'In') {
            const end = endOf(primary, direction)
            checks.push({
              step: end?.step ?? 'DROP', at: end?.at ?? capture.at, direction,
              expected: `the ${role === 'request' ? 'SYN' : 'SYN-ACK'} never reaches ${capture.at} (the trace ends at ${end?.at ?? '?'}: ${end?.step ?? '?'}${end?.cause ? ` ${end.cause}` : ''})`,
              observed: `${describePacket(seen[0] as ObservedPacket)} arrived at ${capture.at}`,
              status: 'unexpected', lines: seen.slice(0, 3).map((p) => p.line),
            })
          }
          continue
        }
        const matching = seen.filter((p) => {
          const s = same(expectation, p)
          return s.src && s.dst
        })
        const what = `${role === 'request' ? 'SYN' : 'SYN-ACK'} ${way === 'In' ? 'arrives at' : 'leaves'} ${capture.at} as ${show(expectation.packet)}`
        if (matching.length > 0) {
          checks.push({step: expectation.step, at: expectation.stepAt, direction, expected: what, observed: describePacket(matching[0] as ObservedPacket), status: 'match', lines: matching.slice(0, 2).map((p) => p.line)})
          continue
        }
        const related = seen.filter((p) => (direction === 'forward' ? same(expectation, p).dst : p.srcPort === expectation.packet.srcPort || same(expectation, p).src))
        if (related.length > 0 || seen.length > 0) {
          const p = (related[0] ?? seen[0]) as ObservedPacket
          checks.push({step: expectation.step, at: expectation.stepAt, direction, expected: what, observed: describePacket(p), status: 'mismatch', lines: [related[0] ?? seen[0]].map((x) => (x as ObservedPacket).line)})
          continue
        }
        const onEveryPath = predicted.every((e) => e !== undefined)
        // when the probe did not connect, a reply that never came is the symptom, not a contradiction
        if (onEveryPath && (probeConnected || direction === 'forward' || paths.some((p) => endOf(p, 'return')?.step === 'DELIVER'))) {
          checks.push({step: expectation.step, at: expectation.stepAt, direction, expected: what, observed: `the capture on ${capture.at} saw no ${role === 'request' ? 'SYN' : 'SYN-ACK'} ${way === 'In' ? 'arrive' : 'leave'}`, status: 'missing', lines: []})
        }
      }
    }
  }
  return checks
}

export function isContradiction(check: ObservationCheck): boolean {
  return check.status !== 'match'
}
