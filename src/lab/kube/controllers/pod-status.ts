/** A pod's status as the kubelet reports it, computed from what the kubelet knows of its containers. */
import {type Container, type ContainerState, type ContainerStatus, type Pod, type PodStatus} from '../types.js'
import {setCondition} from './scheduler.js'

export interface ContainerTrack {
  readonly spec: Container
  readonly init: boolean
  readonly ephemeral?: boolean
  restartCount: number
  state: ContainerState
  lastState: ContainerState
  ready: boolean
  containerID?: string
}

export interface PodFacts {
  readonly pod: Pod
  readonly inits: readonly ContainerTrack[]
  readonly containers: readonly ContainerTrack[]
  /** ephemeral containers: reported, never part of the phase or readiness */
  readonly ephemerals?: readonly ContainerTrack[]
  readonly sandboxReady: boolean
  readonly initialized: boolean
  readonly initFailed: boolean
  readonly deadlineExceeded: boolean
  readonly hostIP?: string
  readonly podIP?: string
  readonly startTime?: string
}

export const DEADLINE_MESSAGE = 'Pod was active on the node longer than the specified deadline'

export function podPhase(facts: PodFacts): NonNullable<PodStatus['phase']> {
  if (facts.deadlineExceeded || facts.initFailed) return 'Failed'
  if (!facts.initialized) return 'Pending'
  const containers = facts.containers
  if (containers.some((c) => c.state.running)) return 'Running'
  const everStarted = containers.some((c) => c.state.terminated || c.lastState.terminated)
  if (!containers.every((c) => c.state.terminated)) return everStarted ? 'Running' : 'Pending'
  const policy = facts.pod.spec.restartPolicy ?? 'Always'
  const failed = containers.some((c) => c.state.terminated!.exitCode !== 0)
  if (policy === 'Always') return 'Running'
  if (policy === 'OnFailure') return failed ? 'Running' : 'Succeeded'
  return failed ? 'Failed' : 'Succeeded'
}

function containerStatus(track: ContainerTrack): ContainerStatus {
  const status: ContainerStatus = {
    name: track.spec.name,
    state: track.state,
    lastState: track.lastState,
    ready: track.ready,
    restartCount: track.restartCount,
    image: track.spec.image ?? '',
    imageID: track.spec.image ? `xcc-lab://${track.spec.image}` : '',
    started: Boolean(track.state.running),
  }
  if (track.containerID) status.containerID = track.containerID
  return status
}

/** The full status to store, keeping condition transition times and conditions the kubelet does not own. */
export function buildPodStatus(facts: PodFacts, previous: PodStatus | undefined): PodStatus {
  const phase = podPhase(facts)
  const done = phase === 'Succeeded' || phase === 'Failed'
  const draft = {metadata: {}, spec: facts.pod.spec, status: {conditions: [...(previous?.conditions ?? [])]}} as Pod
  const notReady = facts.containers.filter((c) => !c.ready).map((c) => c.spec.name)
  const unfinishedInits = facts.inits.filter((c) => !(c.state.terminated && c.state.terminated.exitCode === 0)).map((c) => c.spec.name)
  setCondition(draft, {type: 'PodReadyToStartContainers', status: facts.sandboxReady && !done ? 'True' : 'False'})
  if (facts.initialized) setCondition(draft, {type: 'Initialized', status: 'True', ...(done && facts.inits.length > 0 ? {reason: 'PodCompleted'} : {})})
  else setCondition(draft, {type: 'Initialized', status: 'False', reason: 'ContainersNotInitialized', message: `containers with incomplete status: [${unfinishedInits.join(' ')}]`})
  const ready = notReady.length === 0 && !done
  const notReadyWhy = done ? {reason: phase === 'Succeeded' ? 'PodCompleted' : 'PodFailed'} : {reason: 'ContainersNotReady', message: `containers with unready status: [${notReady.join(' ')}]`}
  setCondition(draft, ready ? {type: 'Ready', status: 'True'} : {type: 'Ready', status: 'False', ...notReadyWhy})
  setCondition(draft, ready ? {type: 'ContainersReady', status: 'True'} : {type: 'ContainersReady', status: 'False', ...notReadyWhy})
  if (!draft.status!.conditions!.some((c) => c.type === 'PodScheduled')) setCondition(draft, {type: 'PodScheduled', status: 'True'})
  const order = ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled']
  const rank = (type: string): number => (order.includes(type) ? order.indexOf(type) : order.length)
  const conditions = draft.status!.conditions!.sort((a, b) => rank(a.type) - rank(b.type))

  const status: PodStatus = {phase, conditions}
  if (facts.deadlineExceeded) {
    status.reason = 'DeadlineExceeded'
    status.message = DEADLINE_MESSAGE
  }
  if (facts.hostIP) {
    status.hostIP = facts.hostIP
    status.hostIPs = [{ip: facts.hostIP}]
  }
  if (facts.podIP) {
    status.podIP = facts.podIP
    status.podIPs = [{ip: facts.podIP}]
  }
  if (facts.startTime) status.startTime = facts.startTime
  if (facts.inits.length > 0) status.initContainerStatuses = facts.inits.map(containerStatus)
  status.containerStatuses = facts.containers.map(containerStatus)
  if ((facts.ephemerals ?? []).length > 0) status.ephemeralContainerStatuses = facts.ephemerals!.map(containerStatus)
  status.qosClass = previous?.qosClass ?? 'BestEffort'
  return status
}
