/**
 * Capture points: a host-network pod pinned to a node, or a script on a VM through the
 * instance shell. Each start returns its stop (habit 6); a capture that never shows its sanity
 * packet is reported as broken, never as a drop.
 */
import type {KubeCluster} from '../ports/kube.js'
import type {InstanceShell, RunningScript} from '../ports/host.js'
import {type CaptureLog, parseCaptureLog} from './capture-log.js'
import {type ProbeScripts, SANITY_PORT, buildCapturePod} from './manifests.js'
import {type FlowIdentity, classifyPackets} from './observe.js'
import {type Waiter, pollPod, throwIfAborted} from '../kube/pods.js'
import type {CaptureHost, CaptureObservation} from './types.js'

export interface CapturePoint {
  readonly at: string
  readonly host: CaptureHost
  readonly context?: string
  /** `<namespace>/<pod>` for pods */
  readonly pod?: string
  /** starts the capture; resolves when it is live (sanity seen) or known broken */
  start(): Promise<void>
  /** the capture's output so far */
  read(): Promise<string>
  stop(): Promise<void>
  readonly state: {status: 'pending' | 'ok' | 'broken' | 'unavailable'; reason?: string}
}

export interface CaptureSettings {
  readonly runId: string
  readonly image: string
  readonly filter: string
  readonly seconds: number
  readonly scripts: ProbeScripts
  /** how long a capture may take to become live (image pull, scheduling) */
  readonly startDeadlineMs: number
  /** the capture pods' name prefix (manifests.ts), when not the path probe's */
  readonly prefix?: string
}

/** 'ok' once the capture saw its sanity packet, the error when tcpdump failed, else undefined (not yet) */
function captureState(text: string): 'ok' | string | undefined {
  const log = parseCaptureLog(text)
  if (classifyPackets(log.capture.packets, {sourcePort: -1, services: []}).sanity > 0) return 'ok'
  return log.capture.errors[0] ?? text.split('\n').find((l) => /^xcc: tcpdump/.test(l))
}

/** Registers a pod for cleanup before it is created, so an interrupted create is cleaned too. */
export type Track = (cluster: KubeCluster, namespace: string, name: string) => void

export function podCapture(w: Waiter, cluster: KubeCluster, namespace: string, node: string, index: number, settings: CaptureSettings, track: Track): CapturePoint {
  const pod = buildCapturePod({runId: settings.runId, index, node, image: settings.image, filter: settings.filter, seconds: settings.seconds, scripts: settings.scripts, ...(settings.prefix ? {prefix: settings.prefix} : {})})
  const name = pod.metadata.name
  const state: CapturePoint['state'] = {status: 'pending'}
  let last = ''
  const read = async (): Promise<string> => {
    try {
      last = await cluster.readPodLog(namespace, name, 'capture')
    } catch (error) {
      if (!last) throw error
    }
    return last
  }
  return {
    at: `node/${node}`, host: {kind: 'node', name: node}, context: cluster.context, pod: `${namespace}/${name}`, state, read,
    async start() {
      throwIfAborted(w.signal)
      track(cluster, namespace, name)
      await cluster.createPod(namespace, pod)
      const result = await pollPod(w, cluster, namespace, name, w.clock.now() + settings.startDeadlineMs, async (p) => {
        if (p?.status?.phase !== 'Running' && p?.status?.phase !== 'Succeeded' && p?.status?.phase !== 'Failed') return undefined
        const seen = captureState(await read())
        if (seen) return seen
        if (p.status.phase !== 'Running') return `the capture ended before it saw its sanity packet (phase ${p.status.phase})`
        return undefined
      }, 'capture')
      if ('value' in result && result.value === 'ok') state.status = 'ok'
      else {
        state.status = 'broken'
        state.reason = 'value' in result ? result.value : `capture pod ${namespace}/${name}: ${result.problem}`
      }
    },
    async stop() {
      // the pod is deleted with the others at cleanup
    },
  }
}

export function instanceCapture(w: Waiter, shell: InstanceShell, instance: string, settings: CaptureSettings): CapturePoint {
  const state: CapturePoint['state'] = {status: 'pending'}
  let running: RunningScript | undefined
  return {
    at: `instance/${instance}`, host: {kind: 'instance', name: instance}, state,
    async read() {
      return running?.output() ?? ''
    },
    async start() {
      throwIfAborted(w.signal)
      if (shell.unavailable) {
        state.status = 'unavailable'
        state.reason = shell.unavailable
        return
      }
      running = await shell.start(instance, settings.scripts.capture, [settings.filter, String(settings.seconds), String(SANITY_PORT)])
      const deadline = w.clock.now() + settings.startDeadlineMs
      let ended = false
      void running.done.then(() => (ended = true))
      for (;;) {
        throwIfAborted(w.signal)
        const text = running.output()
        const seen = captureState(text)
        if (seen === 'ok') {
          state.status = 'ok'
          return
        }
        const broken = seen
        if (broken || ended || w.clock.now() >= deadline) {
          state.status = 'broken'
          state.reason = broken ?? (ended ? `the capture on ${instance} ended early: ${text.trim().split('\n').slice(-2).join(' ')}` : `the capture on ${instance} saw no sanity packet in time`)
          return
        }
        await w.clock.sleep(50, w.signal)
      }
    },
    async stop() {
      await running?.stop()
    },
  }
}

/** What a capture saw, classified for the flow. */
export function observeCapture(point: CapturePoint, log: CaptureLog, flow: FlowIdentity, filter: string): CaptureObservation {
  const {packets} = classifyPackets(log.capture.packets, flow)
  const natRules = log.natRules ? log.natRules.split('\n').filter((l) => l.startsWith('-A ')).length : undefined
  return {
    at: point.at,
    host: point.host,
    ...(point.context ? {context: point.context} : {}),
    ...(point.pod ? {pod: point.pod} : {}),
    status: point.state.status === 'pending' ? 'broken' : point.state.status,
    ...(point.state.reason ? {reason: point.state.reason} : {}),
    filter,
    packets,
    ...(natRules === undefined ? {} : {natRules}),
  }
}
