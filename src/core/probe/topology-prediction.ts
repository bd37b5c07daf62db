/**
 * With --topology, the file supplies the cloud facts and the tracer predicts the probe's path
 * (the probe pod is added to the topology with the address the cluster gave it), so that the
 * captures can be checked step by step against the prediction.
 */
import type {Check} from '../doctor/check.js'
import {evaluateDoctorTo} from '../doctor/dns.js'
import {type DoctorReport, evaluateDoctor} from '../doctor/report.js'
import {XccError} from '../errors.js'
import {findClusterContext, parseGkeContext} from '../kube/contexts.js'
import {formatCidr} from '../net/ipv4.js'
import {buildModel} from '../topology/model.js'
import type {Model} from '../topology/model-types.js'
import type {Topology} from '../topology/schema.js'
import {validateTopology} from '../topology/validate.js'
import {resolveFlow} from '../trace/endpoints.js'
import type {PathTrace} from '../trace/types.js'

export interface PredictionInput {
  readonly cluster: string
  readonly node: string
  /** the probe's pod; undefined for a host-network probe (the node itself is the source) */
  readonly pod?: {readonly namespace: string; readonly name: string; readonly ip: string}
  readonly dst: string
  readonly port: number
}

export interface Prediction {
  readonly report: DoctorReport
  readonly paths: ReadonlyArray<Pick<PathTrace, 'forward' | 'return'>>
  /** why the prediction traced another source than the probe's (its address is not in the file's pod range) */
  readonly note?: string
}

export interface TopologyPrediction {
  /** the topology cluster a kube context is: same name, GKE context name, or the one holding its nodes */
  clusterFor(context: string, nodeNames: readonly string[]): string | undefined
  /** VMs (not nodes) the flow passes on any predicted path: gateways to capture on */
  instancesOnPath(input: PredictionInput): string[]
  /**
   * where the predicted paths end, when that is another cluster's node: its cluster, its kube
   * context among `contexts`, the nodes to capture on and what owns the address
   */
  destinationOf(input: PredictionInput, contexts: readonly string[]): {readonly cluster: string; readonly context?: string; readonly nodes: readonly string[]; readonly owner: string} | undefined
  predict(input: PredictionInput): Prediction
  /**
   * `--to NAME:PORT`: the static doctor's answer for the name, resolved as the probe's pod
   * resolves it (its namespace's search path; src/core/doctor/dns.ts), with the path to its
   * address or the DNS query's own; undefined with a note when the file cannot say
   */
  resolveName(input: PredictionInput & {readonly name: string}): {readonly report?: DoctorReport; readonly note?: string}
  /** what the file knows that fixes need: the cluster's pod range, the zones of its VMs */
  factsFor(cluster: string): {readonly clientRange?: string; readonly vmZones: ReadonlyMap<string, string>}
}

export function topologyPrediction(model: Model, checks: readonly Check[], options: {contexts?: readonly string[]} = {}): TopologyPrediction {
  const trace = (m: Model, input: PredictionInput, from: string): Prediction => {
    const flow = resolveFlow(m, from, `${input.dst}:${input.port}`, 'tcp')
    const report = evaluateDoctor(m, flow, checks, options)
    const paths = report.alternatives ?? [{forward: report.forward, return: report.return}]
    return {report, paths}
  }
  const fallbackFrom = (input: PredictionInput): string => {
    const cluster = model.clusters.get(input.cluster)
    const declared = cluster?.pods.find((p) => p.node === input.node && !p.hostNetwork)
    return declared ? `${input.cluster}/${declared.namespace}/${declared.name}` : `node/${input.node}`
  }
  return {
    factsFor(cluster) {
      const c = model.clusters.get(cluster)
      const vmZones = new Map([...model.instances.values()].filter((i) => i.kind === 'vm').map((i) => [i.name, i.zone]))
      return {...(c ? {clientRange: formatCidr(c.podRange)} : {}), vmZones}
    },
    clusterFor(context, nodeNames) {
      if (model.clusters.has(context)) return context
      const gke = parseGkeContext(context)?.name
      if (gke && model.clusters.has(gke)) return gke
      return [...model.clusters.values()].find((c) => c.nodes.some((n) => nodeNames.includes(n.name)))?.name
    },
    instancesOnPath(input) {
      const {paths} = trace(model, input, fallbackFrom(input))
      const names = new Set<string>()
      for (const p of paths) {
        for (const s of [...p.forward, ...p.return]) {
          if (s.host.kind === 'instance') names.add(s.host.name)
        }
      }
      return [...names].filter((n) => model.instances.get(n)?.kind === 'vm')
    },
    destinationOf(input, contexts) {
      const {paths} = trace(model, input, fallbackFrom(input))
      const nodes = new Set<string>()
      let owner: string | undefined
      for (const p of paths) {
        for (const s of p.forward) {
          if (s.host.kind === 'lb') owner ??= `load balancer ${s.host.name}`
          if (s.host.kind === 'node' && (s.step === 'ARRIVE_AT_INSTANCE' || s.step === 'DELIVER')) nodes.add(s.host.name)
          if (s.host.kind === 'pod' && s.step === 'DELIVER') owner ??= `pod ${s.host.namespace}/${s.host.name}`
        }
      }
      const clusters = new Set([...nodes].map((n) => model.nodes.get(n)?.cluster).filter((c): c is string => c !== undefined))
      const [cluster] = [...clusters]
      if (!cluster || clusters.size !== 1) return undefined
      const spec = model.clusters.get(cluster)?.spec
      const context = spec ? findClusterContext({name: cluster, location: spec.location, ...(model.topology.metadata.project ? {project: model.topology.metadata.project} : {})}, contexts) : undefined
      return {cluster, ...(context ? {context} : {}), nodes: [...nodes].filter((n) => model.nodes.get(n)?.cluster === cluster).sort(), owner: owner ?? `cluster ${cluster}`}
    },
    predict(input) {
      const probe = withProbe(input)
      return {...trace(probe.model, input, probe.from), ...(probe.note ? {note: probe.note} : {})}
    },
    resolveName(input) {
      const probe = withProbe(input)
      try {
        return {report: evaluateDoctorTo(probe.model, probe.from, `${input.name}:${input.port}`, 'tcp', checks, options), ...(probe.note ? {note: probe.note} : {})}
      } catch (error) {
        if (!(error instanceof XccError)) throw error
        return {note: `the --topology prediction cannot resolve ${input.name}: ${error.message}`}
      }
    },
  }

  /** the model with the probe's pod in it (the address the cluster gave it), and the source to trace from */
  function withProbe(input: PredictionInput): {model: Model; from: string; note?: string} {
    if (!model.nodes.has(input.node)) {
      throw new XccError(`the topology has no node ${input.node} in cluster ${input.cluster}`, {exitCode: 2, hint: 'the --topology file must describe the live clusters (node names as in kubectl get nodes)'})
    }
    if (!input.pod) return {model, from: `node/${input.node}`}
    const pod = input.pod
    const topology: Topology = {
      ...model.topology,
      clusters: model.topology.clusters.map((c) => (c.name === input.cluster ? {...c, pods: [...c.pods.filter((p) => p.name !== pod.name || p.namespace !== pod.namespace), {namespace: pod.namespace, name: pod.name, node: input.node, ip: pod.ip, hostNetwork: false}]} : c)),
    } as Topology
    const issues = validateTopology(topology)
    const built = issues.length === 0 ? buildModel(topology) : undefined
    if (!built || built.issues.length > 0) {
      const why = (issues[0] ?? built?.issues[0])?.message ?? 'it does not fit the topology'
      const fallback = fallbackFrom(input)
      return {model, from: fallback, note: `the probe's address ${pod.ip} does not fit the topology (${why}); the prediction traces ${fallback} instead`}
    }
    return {model: built.model, from: `${input.cluster}/${pod.namespace}/${pod.name}`}
  }
}
