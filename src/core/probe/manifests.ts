/**
 * The pods a live doctor run creates (design.md habit 6): owned, labelled, bounded, minimal.
 * Capture pods: host network, pinned to their node, NET_ADMIN/NET_RAW (tcpdump, iptables-save).
 * Probe pods: the pod network, no capabilities at all. Both `restartPolicy: Never` with an
 * `activeDeadlineSeconds`, and every script runs under a deadline of its own.
 */
import {MANAGED_BY, MANAGED_BY_LABEL, ROLE_LABEL, RUN_ID_LABEL} from '../kube/labels.js'
import type {KubeContainer, KubePod} from '../ports/kube.js'

/** the image used when --image is not given: public, with tcpdump, iptables and curl */
export const DEFAULT_IMAGE = 'nicolaka/netshoot:v0.13'
/** the loopback port the capture's sanity connection attempts go to (nothing listens there) */
export const SANITY_PORT = 9

export interface ProbeScripts {
  /** templates/probe/capture.sh */
  readonly capture: string
  /** templates/probe/probe.sh */
  readonly probe: string
}

function labels(runId: string, role: 'capture' | 'probe'): Record<string, string> {
  return {[MANAGED_BY_LABEL]: MANAGED_BY, [RUN_ID_LABEL]: runId, [ROLE_LABEL]: role, 'app.kubernetes.io/name': 'xcc-doctor'}
}

/** a pod name from parts, within the 63 characters of a DNS label */
function podName(...parts: string[]): string {
  const name = parts.join('-').toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/-+/g, '-')
  return name.length <= 63 ? name.replace(/-$/, '') : name.slice(0, 63).replace(/-+$/, '')
}

export interface CapturePodInput {
  readonly runId: string
  readonly index: number
  readonly node: string
  readonly image: string
  readonly filter: string
  /** how long tcpdump runs at most */
  readonly seconds: number
  readonly scripts: ProbeScripts
  /** the name's first part: `xcc-capture` (default), `xcc-dns-capture` for the captures of a name's resolution */
  readonly prefix?: string
}

export function buildCapturePod(input: CapturePodInput): KubePod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {name: podName(input.prefix ?? 'xcc-capture', input.runId, String(input.index)), labels: labels(input.runId, 'capture'), annotations: {'xcc.dev/node': input.node}},
    spec: {
      nodeName: input.node,
      hostNetwork: true,
      restartPolicy: 'Never',
      // the script ends by itself; the deadline is the API server's guarantee that the pod does too
      activeDeadlineSeconds: input.seconds + 60,
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      // capture on tainted nodes too (the source pod may run there)
      tolerations: [{operator: 'Exists'}],
      containers: [{
        name: 'capture',
        image: input.image,
        command: ['sh', '-c', input.scripts.capture, 'xcc-capture', input.filter, String(input.seconds), String(SANITY_PORT)],
        securityContext: {capabilities: {add: ['NET_ADMIN', 'NET_RAW']}},
        resources: {requests: {cpu: '10m', memory: '32Mi'}, limits: {memory: '256Mi'}},
      }],
    },
  }
}

export interface ProbeTarget {
  /** an address, or in dns mode the name to resolve */
  readonly dst: string
  readonly port: number
  readonly seconds: number
  /** dns: resolve `dst` through the pod's own resolver (templates/probe/probe.sh) */
  readonly mode: 'tcp' | 'http' | 'dns'
  readonly sourcePort: number
}

function probeContainer(name: string, image: string, target: ProbeTarget, scripts: ProbeScripts): KubeContainer {
  return {
    name,
    image,
    command: ['sh', '-c', scripts.probe, 'xcc-probe', target.dst, String(target.port), String(target.seconds), target.mode, String(target.sourcePort)],
    securityContext: {capabilities: {drop: ['ALL']}, allowPrivilegeEscalation: false},
    terminationMessagePolicy: 'File',
  }
}

export interface ProbePodInput {
  readonly runId: string
  readonly node: string
  readonly image: string
  readonly target: ProbeTarget
  readonly scripts: ProbeScripts
  /** a host-network probe stands in for a pod whose network namespace cannot be joined */
  readonly hostNetwork?: boolean
}

export function buildProbePod(input: ProbePodInput): KubePod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {name: probeName(input.runId, input.target), labels: labels(input.runId, 'probe'), annotations: {'xcc.dev/node': input.node}},
    spec: {
      nodeName: input.node,
      ...(input.hostNetwork ? {hostNetwork: true} : {}),
      restartPolicy: 'Never',
      activeDeadlineSeconds: input.target.seconds + 60,
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      tolerations: [{operator: 'Exists'}],
      containers: [probeContainer('probe', input.image, input.target, input.scripts)],
    },
  }
}

/** a name's resolution and the path probe of the same run are two probes: two names */
const probeName = (runId: string, target: ProbeTarget): string => podName(target.mode === 'dns' ? 'xcc-dns-probe' : 'xcc-probe', runId)

/** the probe as an ephemeral container of the user's pod: same network namespace, same address */
export function buildEphemeralProbe(runId: string, image: string, target: ProbeTarget, scripts: ProbeScripts, targetContainer?: string): KubeContainer {
  return {...probeContainer(probeName(runId, target), image, target, scripts), ...(targetContainer ? {targetContainerName: targetContainer} : {})}
}
