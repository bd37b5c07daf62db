/**
 * The live doctor's report: the contract's object (`xcc doctor --json`) plus `observations`.
 * The verdict is what the probe saw when it ran. With --topology the prediction's steps and
 * diagnosis stand when the captures confirm them; a contradiction is a finding that names the
 * step, and the root cause then comes from the packets. Without --topology the steps are the
 * node-local part xcc can predict from the cluster and the root cause comes from the packets.
 * Findings come from the live checks of the registry (src/checks/probe.*.ts).
 */
import type {MasqueradeMechanism} from '../doctor/fixes.js'
import {DOCTOR_SCHEMA_VERSION, type DoctorReport, runChecks} from '../doctor/report.js'
import type {Diagnosis} from '../doctor/types.js'
import {parseIp} from '../net/ipv4.js'
import type {KubeConfigMap, KubeNode} from '../ports/kube.js'
import type {Packet, Step, Verdict} from '../trace/types.js'
import type {CaptureLog} from './capture-log.js'
import {compareWithPrediction, isContradiction} from './expect.js'
import type {LiveCheck, LiveCheckContext} from './live-checks.js'
import {type DestinationFacts, concludeFromObservations, keyEvidence} from './live-diagnose.js'
import {traceLiveSource} from './live-trace.js'
import {type Destination, internalIps, regionOf} from './targets.js'
import type {TopologyPrediction} from './topology-prediction.js'
import type {CaptureObservation, LiveRequest, Observations, ProbeObservation} from './types.js'

export interface LiveReport extends DoctorReport {
  readonly observations: Observations
}

export interface AssembleInput {
  readonly request: LiveRequest
  readonly probe: ProbeObservation
  readonly captures: readonly CaptureObservation[]
  readonly notes: readonly string[]
  readonly cleanup: Observations['cleanup']
  readonly destination: Destination
  readonly destinationFacts: DestinationFacts
  readonly node: KubeNode
  readonly sourceContext: string
  readonly sourceLog: CaptureLog
  readonly hostNetworkProbe: boolean
  readonly checks: readonly LiveCheck[]
  readonly cluster?: string
  readonly prediction?: TopologyPrediction
  readonly masqConfig?: KubeConfigMap
  /** kube-system/anetd runs: GKE Dataplane V2 masquerades in eBPF (SNAT-15) */
  readonly dataplaneV2?: boolean
  readonly timings: Observations['timings']
}

function withEvidence(diagnosis: Diagnosis | null, evidence: readonly string[]): Diagnosis | null {
  return diagnosis && {...diagnosis, evidence: [...diagnosis.evidence, ...evidence.map((e) => `observed: ${e}`)]}
}

/** how the source cluster's nodes decide masquerading, for the fix's wording (SNAT-03, SNAT-14, SNAT-15) */
function mechanismOf(input: AssembleInput): MasqueradeMechanism {
  if (input.dataplaneV2) return 'dataplane-v2'
  if (input.masqConfig) return 'ip-masq-agent-list'
  return 'iptables'
}

export function assembleLiveReport(input: AssembleInput): LiveReport {
  const {probe, captures, request} = input
  const nodeAddresses = internalIps(input.node)
  const sourceNode = input.node.metadata.name
  const src = probe.src ?? nodeAddresses[0] ?? '0.0.0.0'
  const packet: Packet = {src: parseIp(src) ?? 0, dst: parseIp(probe.dst) ?? 0, protocol: 'tcp', srcPort: request.sourcePort, dstPort: probe.dstPort}
  const facts = input.prediction && input.cluster ? input.prediction.factsFor(input.cluster) : undefined
  const lb = input.destination.loadBalancer
  const observed = concludeFromObservations({
    probe, sourceNode, sourceNodeAddresses: nodeAddresses, captures,
    source: {context: input.sourceContext, mechanism: mechanismOf(input)},
    destination: input.destinationFacts,
    ...(facts?.clientRange ? {clientRange: facts.clientRange} : {}),
    ...(facts ? {vmZones: facts.vmZones} : {}),
    ...(lb ? {loadBalancer: {...lb, context: input.destinationFacts.context ?? input.sourceContext}} : {}),
    ...(regionOf(input.node) ? {sourceRegion: regionOf(input.node)} : {}),
  })
  const observations = (checks?: Observations['checks'], notes: readonly string[] = input.notes): Observations => ({
    runId: request.runId, probe, captures, ...(checks ? {checks} : {}), cleanup: input.cleanup, notes: [...notes], timings: input.timings,
  })
  const flow = {from: probe.at, to: `${probe.dst}:${probe.dstPort}`, packet: {src, dst: probe.dst, protocol: 'tcp' as const, srcPort: request.sourcePort, dstPort: probe.dstPort}}
  const checkContext: Omit<LiveCheckContext, 'natStep' | 'natRules' | 'comparison'> = {probe, captures, sourceNode, destination: input.destinationFacts}

  if (input.prediction && input.cluster) {
    const podInput = probe.mode !== 'host-network' && probe.src ? {namespace: probe.pod.namespace, name: probe.pod.name, ip: probe.src} : undefined
    const prediction = input.prediction.predict({cluster: input.cluster, node: sourceNode, ...(podInput ? {pod: podInput} : {}), dst: probe.dst, port: probe.dstPort})
    const notes = prediction.note ? [...input.notes, prediction.note] : input.notes
    const comparison = compareWithPrediction(prediction.paths, captures, probe.result === 'connected')
    const contradictions = comparison.filter(isContradiction)
    const predicted = prediction.report
    const base = {...predicted, findings: [...predicted.findings, ...runChecks({...checkContext, comparison}, input.checks)], observations: observations(comparison, notes)}
    const observedVerdict: Verdict | undefined = probe.result === 'connected' ? 'reachable' : probe.result === 'timeout' || probe.result === 'failed' ? 'unreachable' : undefined
    if (observedVerdict === undefined) return base
    if (observedVerdict === 'reachable') return {...base, verdict: 'reachable', diagnosis: null}
    const evidence = keyEvidence({captures, sourceNode})
    const contradictionEvidence = contradictions.map((c) => `contradiction at ${c.step} (${c.at}): predicted ${c.expected}; observed ${c.observed}`)
    if (predicted.verdict !== 'reachable' && predicted.diagnosis && (contradictions.length === 0 || observed.diagnosis?.code === predicted.diagnosis.code || observed.diagnosis?.code === 'INSUFFICIENT_INFO')) {
      return {...base, verdict: 'unreachable', diagnosis: withEvidence({...predicted.diagnosis, evidence: [...contradictionEvidence, ...predicted.diagnosis.evidence]}, evidence)}
    }
    const diagnosis = observed.diagnosis && {...observed.diagnosis, evidence: [...contradictionEvidence, ...observed.diagnosis.evidence]}
    return {...base, verdict: observed.verdict, diagnosis}
  }

  const forward: Step[] = traceLiveSource({
    pod: probe.pod,
    node: {name: sourceNode, addresses: nodeAddresses.map((a) => parseIp(a) ?? 0), ...(input.node.spec?.podCIDR ? {podCidr: input.node.spec.podCIDR} : {}), routes: input.sourceLog.routes, ...(input.sourceLog.natRules ? {natRules: input.sourceLog.natRules} : {})},
    packet, hostNetwork: input.hostNetworkProbe,
    ...(input.dataplaneV2 ? {dataplaneV2: input.masqConfig?.data?.config === undefined ? {} : {config: input.masqConfig.data.config}} : {}),
  })
  const natStep = forward.find((s) => s.step === 'NAT' || s.step === 'SKIP_GKE_POD_IP_MASQUERADING')
  const natRules = {read: input.sourceLog.natRules !== undefined, ...(input.sourceLog.natError ? {error: input.sourceLog.natError} : {})}
  return {
    schemaVersion: DOCTOR_SCHEMA_VERSION,
    verdict: observed.verdict,
    diagnosis: observed.diagnosis,
    forward,
    return: [],
    findings: runChecks({...checkContext, natRules, ...(natStep ? {natStep} : {})}, input.checks),
    flow,
    observations: observations(),
  }
}
