/**
 * What a live doctor run observed (the `observations` extension of `xcc doctor --json`):
 * the probe's result, every capture with the flow's packets, and how they compare with the
 * trace's prediction (design.md habit 5: predict, then observe).
 */
import type {StepName} from '../trace/types.js'
import type {ObservedPacket} from './observe.js'
import type {LiveFrom, LiveTo} from './targets.js'

export type ProbeResult = 'connected' | 'timeout' | 'failed' | 'error' | 'not-run'

export interface ProbeObservation {
  /** `<context>/<namespace>/<pod>` of the probe (or of the pod it joined as an ephemeral container) */
  readonly at: string
  /** the same, typed */
  readonly pod: {readonly context: string; readonly namespace: string; readonly name: string}
  readonly node: string
  /** pod: a probe pod on the node; ephemeral: inside the user's pod; host-network: the node's address stands in for the pod's */
  readonly mode: 'pod' | 'ephemeral' | 'host-network'
  readonly src?: string
  readonly srcPort: number
  readonly dst: string
  readonly dstPort: number
  readonly result: ProbeResult
  readonly exitCode?: number
  /** the probe's termination message (or why it did not run) */
  readonly message?: string
  readonly durationMs?: number
}

/** where a capture ran: a Kubernetes node (by a host-network pod) or a VM */
export interface CaptureHost {
  readonly kind: 'node' | 'instance'
  readonly name: string
}

export interface CaptureObservation {
  /** `node/<name>` or `instance/<name>` */
  readonly at: string
  /** the same, typed */
  readonly host: CaptureHost
  /** kube context of a node capture */
  readonly context?: string
  /** `<namespace>/<pod>` of the capture pod */
  readonly pod?: string
  /** ok: the sanity packet was seen; broken: the capture did not work (not a drop!); unavailable: could not be placed */
  readonly status: 'ok' | 'broken' | 'unavailable'
  readonly reason?: string
  readonly filter?: string
  readonly packets: readonly ObservedPacket[]
  /** the node's NAT rules were read (lines of `iptables-save -t nat`) */
  readonly natRules?: number
}

export interface ObservationCheck {
  /** the predicted step the observation confirms or contradicts */
  readonly step: StepName
  readonly at: string
  readonly direction: 'forward' | 'return'
  readonly expected: string
  readonly observed: string
  /** match: seen as predicted; mismatch: seen, but different; missing: predicted, not seen; unexpected: seen beyond the predicted end */
  readonly status: 'match' | 'mismatch' | 'missing' | 'unexpected'
  readonly lines: readonly string[]
}

/** How the source pod's own resolver answered `--to NAME:PORT` (dns-run.ts), and the DNS packets it sent. */
export interface DnsObservation {
  readonly name: string
  /** `<context>/<namespace>/<pod>` that resolved it (the user's pod, or a probe pod in the pod network) */
  readonly at: string
  readonly mode: 'pod' | 'ephemeral'
  readonly src?: string
  /** the pod's /etc/resolv.conf as the probe read it */
  readonly resolver: {readonly nameservers: readonly string[]; readonly search: readonly string[]; readonly ndots?: number}
  /** not-found: NXDOMAIN for every try; servfail: a server answered SERVFAIL/REFUSED; timeout: no answer in time */
  readonly result: 'resolved' | 'not-found' | 'servfail' | 'timeout' | 'error'
  readonly addresses: readonly string[]
  readonly exitCode?: number
  readonly message?: string
  readonly durationMs?: number
  /** the captures of the resolution (UDP and TCP 53): the pod's queries, the cluster DNS pod's forwarded ones, the answers */
  readonly captures: readonly CaptureObservation[]
}

export interface Observations {
  readonly runId: string
  /** `--to NAME:PORT`: the name's resolution, before the path probe */
  readonly dns?: DnsObservation
  readonly probe: ProbeObservation
  readonly captures: readonly CaptureObservation[]
  /** present with --topology: observation against prediction */
  readonly checks?: readonly ObservationCheck[]
  /** pods removed at the end (or kept with --keep) */
  readonly cleanup: {readonly deleted: readonly string[]; readonly kept: readonly string[]; readonly failed: readonly string[]}
  /** what could not be observed and why */
  readonly notes: readonly string[]
  /** milliseconds spent in each phase of the run (captures start in parallel) */
  readonly timings: {readonly preflightMs: number; readonly factsMs: number; readonly capturesLiveMs: number; readonly probeMs: number; readonly collectMs: number; readonly cleanupMs: number; readonly totalMs: number}
}

/** What one live doctor run was asked to do (parsed flags). */
export interface LiveRequest {
  readonly from: LiveFrom
  readonly to: LiveTo
  readonly toContext?: string
  readonly node?: string
  readonly timeoutSeconds: number
  readonly image: string
  readonly keep: boolean
  readonly probeNamespace: string
  readonly runId: string
  readonly sourcePort: number
  /** how long pods may take to start (scheduling, image pull) */
  readonly startSeconds: number
}
