/**
 * Root cause from the trace and the findings (contracts.md §2). When several codes fit, the
 * diagnosis names the fix closest to the destination that would make the flow work: xcc tries
 * each candidate fix on the model (re-tracing with the fix assumed) from the destination back
 * to the source, and only falls back to the first failure's own code when no single fix works.
 */
import {ip} from '../net/ipv4.js'
import type {InstanceFacts} from '../topology/model-types.js'
import type {Assumption, PathTrace, Step} from '../trace/types.js'
import {isInternetAddress} from '../trace/vpc.js'
import {type DoctorContext, type Finding, endStep, stepInstance, stepNetwork} from './check.js'
import {describeSymptom} from './evidence.js'
import {explainMissingRoute, networkHolding} from './explain-route.js'
import {buildFixes, fixLines} from './fixes.js'
import {type RemedyInput, buildRemedy} from './remedy.js'
import type {Diagnosis, DiagnosisCode, Failure} from './types.js'

interface Candidate {
  readonly code: 'FIREWALL_RULE' | 'GATEWAY_SNAT_MISSING' | 'POD_SNAT_MISSING'
  readonly position: number
  readonly assume: Assumption
  readonly step: Step
}

const ROUTING = ['NO_ROUTE', 'PRIVATE_TRAFFIC_TO_INTERNET', 'NO_EXTERNAL_ADDRESS', 'XCC_GUEST_NO_ROUTE']
const DIRECT: Readonly<Record<string, DiagnosisCode>> = {
  FIREWALL_RULE: 'FIREWALL_RULE', XCC_GUEST_FIREWALL: 'FIREWALL_RULE', ROUTE_WRONG_NETWORK: 'OVERLAPPING_RANGES',
  FOREIGN_IP_DISALLOWED: 'FOREIGN_IP_DISALLOWED', XCC_GUEST_FORWARDING_DISABLED: 'GUEST_FORWARDING_DISABLED',
  FORWARDING_RULE_MISMATCH: 'FORWARDING_RULE_MISMATCH', FORWARDING_RULE_REGION_MISMATCH: 'FORWARDING_RULE_REGION_MISMATCH',
  FORWARDING_RULE_NO_INSTANCES: 'FORWARDING_RULE_NO_INSTANCES', LOAD_BALANCER_BACKEND_INVALID_NETWORK: 'FORWARDING_RULE_NO_INSTANCES',
  FIREWALL_BLOCKING_LOAD_BALANCER_BACKEND_HEALTH_CHECK: 'FIREWALL_BLOCKING_LOAD_BALANCER_BACKEND_HEALTH_CHECK',
  XCC_CLUSTER_IP_FROM_OUTSIDE_CLUSTER: 'CLUSTER_IP_FROM_OUTSIDE_CLUSTER', UNKNOWN_INTERNAL_ADDRESS: 'UNKNOWN_INTERNAL_ADDRESS',
  XCC_DESTINATION_NOT_LISTENING: 'DESTINATION_NOT_LISTENING', XCC_ASYMMETRIC_RETURN: 'GUEST_FORWARDING_DISABLED',
}

export function diagnose(ctx: DoctorContext, findings: readonly Finding[]): Diagnosis | null {
  if (ctx.trace.verdict === 'reachable') return null
  const path = ctx.primary
  const failure = firstFailure(ctx, path)
  if (failure.code !== 'INSUFFICIENT_INFO') {
    for (const candidate of fixCandidates(ctx, path)) {
      // Replies routed somewhere else are OVERLAPPING_RANGES; POD_SNAT_MISSING is for replies that cannot be routed back.
      if (candidate.code === 'POD_SNAT_MISSING' && failure.code === 'OVERLAPPING_RANGES') continue
      if (ctx.retrace([candidate.assume]).verdict === 'reachable') return build(ctx, findings, candidate.code, failure, candidate)
    }
  }
  return build(ctx, findings, failure.code, failure)
}

/** The candidate fixes on this path, closest to the destination first. */
function fixCandidates(ctx: DoctorContext, path: PathTrace): Candidate[] {
  const out: Candidate[] = []
  path.forward.forEach((s, position) => {
    if (s.step === 'SKIP_GKE_POD_IP_MASQUERADING' && s.reason !== 'POD_USES_NODE_NETWORK_NAMESPACE' && s.reason !== 'DESTINATION_ON_SAME_NODE') {
      out.push({code: 'POD_SNAT_MISSING', position, step: s, assume: {kind: 'snat', instance: s.host.name}})
    }
    const forwardsForeign = (s.step === 'APPLY_EGRESS_FIREWALL_RULE' || (s.step === 'DROP' && s.cause === 'FOREIGN_IP_DISALLOWED')) && s.host.kind === 'instance'
    if (forwardsForeign && position > 0) {
      const gateway = ctx.model.instances.get(s.host.name)
      if (gateway && !gateway.nics.some((n) => n.ip === ip(s.packet.src))) out.push({code: 'GATEWAY_SNAT_MISSING', position, step: s, assume: {kind: 'snat', instance: gateway.name}})
    }
  })
  const end = endStep(path.forward)
  if (end?.cause === 'FIREWALL_RULE' && end.firewall) {
    out.push({code: 'FIREWALL_RULE', position: path.forward.length - 1, step: end, assume: {kind: 'allow-firewall', instance: end.host.name, direction: end.firewall.direction}})
  }
  return out.sort((a, b) => b.position - a.position)
}

export function firstFailure(ctx: DoctorContext, path: PathTrace): Failure {
  const forward = endStep(path.forward)
  if (forward) return classify(ctx, forward, 'forward')
  const back = endStep(path.return) as Step
  return classify(ctx, back, 'return')
}

function classify(ctx: DoctorContext, step: Step, direction: 'forward' | 'return'): Failure {
  if (step.step === 'ABORT') return {code: 'INSUFFICIENT_INFO', step, direction}
  const cause = step.cause ?? ''
  if (ROUTING.includes(cause)) {
    const address = ip(step.packet.dst)
    // Nothing in any network holds an internal address (no subnet, VIP or custom route): it is unknown, not unroutable.
    if (direction === 'forward' && !networkHolding(ctx.model, address) && !isInternetAddress(address)) return {code: 'UNKNOWN_INTERNAL_ADDRESS', step, direction}
    const network = stepNetwork(step) ?? senderNetwork(ctx, step)
    const missing = network ? explainMissingRoute(ctx.model, network, address) : undefined
    return {code: missing?.code ?? 'NO_ROUTE', step, direction, ...(missing ? {missing} : {})}
  }
  return {code: DIRECT[cause] ?? 'NO_ROUTE', step, direction}
}

function senderNetwork(ctx: DoctorContext, step: Step): string | undefined {
  const name = stepInstance(step)
  const instance: InstanceFacts | undefined = name === undefined ? undefined : ctx.model.instances.get(name)
  return instance?.nics[0]?.network
}

function build(ctx: DoctorContext, findings: readonly Finding[], code: DiagnosisCode, failure: Failure, candidate?: Candidate): Diagnosis {
  const input: RemedyInput = {ctx, code, failure, ...(candidate ? {at: candidate.step} : {})}
  const remedy = buildRemedy(input)
  const fixes = buildFixes(remedy.facts)
  const evidence: string[] = []
  if (candidate && candidate.code !== failure.code) evidence.push(describeCandidate(ctx, candidate))
  evidence.push(`${failure.direction === 'forward' ? 'forward' : 'return'} path, ${failure.step.at}: ${failure.step.detail}`)
  // why the route is missing, unless nothing holds the address (the failure says so already)
  if (failure.missing && (failure.missing.code !== 'NO_ROUTE' || failure.missing.owner)) evidence.push(failure.missing.detail)
  const symptom = describeSymptom(ctx, ctx.primary)
  if (symptom) evidence.push(symptom)
  if (candidate) evidence.push(`xcc traced the flow again with this fix assumed (${describeAssumption(candidate.assume)}): it becomes reachable`)
  for (const f of findings) {
    if ((f.status === 'fail' || f.status === 'warn') && f.evidence) {
      for (const e of f.evidence) if (!evidence.some((known) => known.includes(e) || e.includes(known))) evidence.push(e)
    }
  }
  return {code, summary: remedy.summary, evidence, fix: fixLines(fixes), fixes}
}

function describeCandidate(ctx: DoctorContext, c: Candidate): string {
  if (c.code !== 'GATEWAY_SNAT_MISSING') return `${c.step.at}: ${c.step.detail}`
  const gateway = ctx.model.instances.get(c.assume.instance)
  const rules = gateway?.guest.ruleset ? `none of the nat rules in ${gateway.guest.ruleset.source} changes its source` : 'the gateway has no iptables rules, so nothing changes its source'
  return `${c.step.at}: gateway ${c.assume.instance} forwards ${c.step.packet.src}:${c.step.packet.srcPort} → ${c.step.packet.dst}:${c.step.packet.dstPort} into ${c.step.firewall?.network ?? 'the next network'} unchanged; ${rules} (ROUTE-10: canIpForward lets it send a foreign source)`
}

function describeAssumption(a: Assumption): string {
  return a.kind === 'snat' ? `${a.instance} masquerades the flow` : `the ${a.direction.toLowerCase()} firewall of ${a.instance} allows it`
}
