/**
 * The probe itself: an ephemeral container in the user's pod (its network namespace, its
 * address, its resolver) when allowed, else a probe pod on the source node. In dns mode it
 * resolves the name instead of connecting (templates/probe/probe.sh), always in the pod network,
 * so that the pod's resolver (cluster DNS, search path, ndots:5) is the one asked.
 */
import {XccError} from '../errors.js'
import type {KubeCluster, KubeNode, KubePod} from '../ports/kube.js'
import {containerState, pollPod, throwIfAborted} from '../kube/pods.js'
import type {Track} from './captures.js'
import {type ProbeScripts, type ProbeTarget, buildEphemeralProbe, buildProbePod} from './manifests.js'
import type {Clock} from '../ports/clock.js'
import type {LiveRequest, ProbeObservation, ProbeResult} from './types.js'

/** what to probe: an address and port (tcp or http), or a name to resolve (dns, port 53) */
export interface ProbeGoal {
  readonly ip: string
  readonly port: number
  readonly mode: ProbeTarget['mode']
  /** the probe's own bound, when not --timeout */
  readonly seconds?: number
}

function parseProbeMessage(message: string | undefined, exitCode: number | undefined): ProbeResult {
  const result = /result=(\S+)/.exec(message ?? '')?.[1]
  if (result === 'connected' || result === 'timeout' || result === 'failed') return result
  if (exitCode === 0) return 'connected'
  if (exitCode === 1) return 'timeout'
  if (exitCode === 2) return 'failed'
  return 'error'
}

export async function runProbe(req: LiveRequest, deps: {readonly clock: Clock; readonly signal: AbortSignal; readonly scripts: ProbeScripts}, cluster: KubeCluster, node: KubeNode, userPod: KubePod | undefined, d: ProbeGoal, ephemeralDenied: boolean, track: Track, notes: string[]): Promise<ProbeObservation> {
  const w = {clock: deps.clock, signal: deps.signal}
  const target = {dst: d.ip, port: d.port, seconds: d.seconds ?? req.timeoutSeconds, mode: d.mode, sourcePort: req.sourcePort}
  const base = {node: node.metadata.name, srcPort: req.sourcePort, dst: d.ip, dstPort: d.port}
  // a name is resolved by the pod network's resolver: a host-network pod would ask the node's
  const hostNetwork = Boolean(userPod) && d.mode !== 'dns'
  const started = deps.clock.now()
  const deadline = started + (req.startSeconds + target.seconds + 5) * 1000
  const finish = (pod: ProbeObservation['pod'], mode: ProbeObservation['mode'], src: string | undefined, terminated: {exitCode: number; message?: string} | undefined, problem?: string): ProbeObservation => ({
    ...base, at: `${pod.context}/${pod.namespace}/${pod.name}`, pod, mode, ...(src ? {src} : {}),
    result: terminated ? parseProbeMessage(terminated.message, terminated.exitCode) : 'error',
    ...(terminated ? {exitCode: terminated.exitCode} : {}),
    ...(terminated?.message || problem ? {message: (terminated?.message ?? problem ?? '').trim()} : {}),
    durationMs: Math.round(deps.clock.now() - started),
  })
  if (userPod && !ephemeralDenied) {
    const ns = userPod.metadata.namespace ?? 'default'
    const container = buildEphemeralProbe(req.runId, req.image, target, deps.scripts, userPod.spec.containers[0]?.name)
    const at = {context: cluster.context, namespace: ns, name: userPod.metadata.name}
    try {
      await cluster.addEphemeralContainer(ns, userPod.metadata.name, container)
      const result = await pollPod(w, cluster, ns, userPod.metadata.name, deadline, async (p) => containerState(p, container.name, true)?.terminated, container.name, true)
      return 'value' in result ? finish(at, 'ephemeral', userPod.status?.podIP, result.value) : finish(at, 'ephemeral', userPod.status?.podIP, undefined, `ephemeral probe: ${result.problem}`)
    } catch (error) {
      if (error instanceof XccError && /not found|404|forbidden|403|Invalid|422|not supported/i.test(error.message)) notes.push(`ephemeral containers are not available for pod ${at.context}/${at.namespace}/${at.name} (${error.message}); ${hostNetwork ? 'probed from a host-network pod on' : 'resolved in a probe pod on'} ${node.metadata.name} instead`)
      else throw error
    }
  } else if (userPod) notes.push(`no permission to add an ephemeral container to ${userPod.metadata.name}; ${hostNetwork ? 'probed from a host-network pod on its node' : `resolved in a probe pod in namespace ${req.probeNamespace} on its node`} instead`)
  const pod = buildProbePod({runId: req.runId, node: node.metadata.name, image: req.image, target, scripts: deps.scripts, hostNetwork})
  throwIfAborted(deps.signal)
  track(cluster, req.probeNamespace, pod.metadata.name)
  await cluster.createPod(req.probeNamespace, pod)
  const at = {context: cluster.context, namespace: req.probeNamespace, name: pod.metadata.name}
  let ip: string | undefined
  const result = await pollPod(w, cluster, req.probeNamespace, pod.metadata.name, deadline, async (p) => {
    ip ??= p?.status?.podIP
    return containerState(p, 'probe')?.terminated
  }, 'probe')
  const mode = hostNetwork ? 'host-network' : 'pod'
  if ('value' in result) {
    const message = result.value.message ?? (await cluster.readPodLog(req.probeNamespace, pod.metadata.name, 'probe').catch(() => '')).split('\n').find((l) => l.startsWith('xcc-probe'))
    return finish(at, mode, ip, {exitCode: result.value.exitCode, ...(message ? {message} : {})})
  }
  return finish(at, mode, ip, undefined, `probe pod: ${result.problem}`)
}

