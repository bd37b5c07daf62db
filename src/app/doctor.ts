/**
 * `xcc doctor`: the static doctor (a topology file, traced and checked) or, when asked, the live
 * one (probes on the clusters; loaded only then: client-node and the probe code cost start-up).
 */
import {readInputFile, writeFileAtomic} from '../adapters/files/index.js'
import {CHECKS} from '../checks/index.js'
import {type FlowOutcome, type FlowSpec, meets, parseFlows} from '../core/doctor/flows.js'
import {splitNameTarget} from '../core/dns/resolve.js'
import {evaluateDoctorTo} from '../core/doctor/dns.js'
import {type DoctorReport, evaluateDoctor} from '../core/doctor/report.js'
import {NoCredentialsError, XccError} from '../core/errors.js'
import {checkNamespaceFlag} from '../core/names.js'
import type {LiveReport} from '../core/probe/report.js'
import type {Model} from '../core/topology/model-types.js'
import {resolveFlow, resolveSource} from '../core/trace/endpoints.js'
import {renderJunit} from '../render/junit.js'
import {runWithProgress} from '../render/progress.js'
import {cloud, kubeContextNames, topologyFiles} from './deps.js'
import type {LiveDoctorFlags} from './live-doctor.js'

export interface DoctorRequest extends LiveDoctorFlags {
  readonly topology?: string
  /** the Google Cloud project whose facts the doctor reads when there is no topology */
  readonly project?: string
  readonly protocol?: 'tcp' | 'udp'
  /** probe the live clusters (with a topology: it supplies the cloud facts and the prediction) */
  readonly live: boolean
}

export async function runDoctor(request: DoctorRequest, options: {interactive: boolean}): Promise<DoctorReport> {
  // before any file is read: the probe pods' namespace goes into API paths
  checkNamespaceFlag('--probe-namespace', request.probeNamespace)
  const model = request.topology ? await topologyFiles.load(request.topology) : undefined
  if (!request.live) return analyse(model as Model, request, options.interactive)
  const cloudFacts = model ? undefined : await readCloud(request)
  const report = await (await import('./live-doctor.js')).runLiveDoctorCommand(request, model ?? cloudFacts?.model, CHECKS, options)
  if (!cloudFacts?.note) return report
  const noted: LiveReport = {...report, observations: {...report.observations, notes: [...report.observations.notes, cloudFacts.note]}}
  return noted
}

/**
 * Without a topology, the cloud facts come from the APIs when a project is known (contracts §7):
 * the model a snapshot would write, read in memory. When they cannot be read, the doctor still
 * probes, and says why it has no cloud facts.
 */
async function readCloud(request: Pick<DoctorRequest, 'project' | 'kubeconfig'>): Promise<{model?: Model; note?: string} | undefined> {
  const project = cloud.knownProject({...(request.project ? {project: request.project} : {}), contexts: kubeContextNames()})
  if (!project) return undefined
  try {
    const {runSnapshot} = await import('./snapshot.js')
    const snapshot = await runSnapshot({project: project.project, regions: [], contexts: [], ...(request.kubeconfig ? {kubeconfig: request.kubeconfig} : {}), output: '-', timeoutMs: 60_000})
    return {model: snapshot.model, note: `the cloud facts come from project ${project.project} (${project.source}): ${snapshot.requests} API requests`}
  } catch (error) {
    // contracts §4: a denied permission, an API that fails or cannot be reached ends the run (exit 3);
    // only a user without any cloud credentials gets the live doctor without the cloud facts
    if (!(error instanceof NoCredentialsError)) {
      if (!(error instanceof XccError)) throw error
      throw new XccError(`reading the cloud facts of project ${project.project} (${project.source}): ${error.message}`, {
        exitCode: error.exitCode, details: error.details,
        hint: `${error.hint ? `${error.hint}; or ` : ''}give the facts yourself with --topology FILE (xcc snapshot writes one)`,
      })
    }
    return {note: `the cloud facts of project ${project.project} (${project.source}) could not be read, so the path beyond the nodes is not predicted: ${error.message}`}
  }
}

async function analyse(model: Model, request: DoctorRequest, interactive: boolean): Promise<DoctorReport> {
  const state: {report?: DoctorReport} = {}
  await runWithProgress([{
    title: `Trace ${request.from} → ${request.to} and run ${CHECKS.length} checks`,
    run: (s) => void (s.report = evaluateDoctorTo(model, request.from, request.to, request.protocol, CHECKS, {contexts: kubeContextNames()})),
  }], state, {interactive})
  return state.report as DoctorReport
}

export interface FlowsRequest extends Omit<DoctorRequest, 'from' | 'to' | 'protocol'> {
  /** the flows file: a YAML list of {from, to, protocol?, expect} */
  readonly flows: string
  /** write a JUnit XML report there */
  readonly junit?: string
}

/**
 * Every flow of the file, checked against its expectation. Static: the topology is loaded once and
 * every flow's endpoints are resolved before any is traced, so a bad flow is bad input (exit 2)
 * naming it. Live: one probe run per flow, in order.
 */
export async function runDoctorFlows(request: FlowsRequest, options: {interactive: boolean}): Promise<FlowOutcome[]> {
  const text = await readInputFile(request.flows, 'flows file', 'pass a YAML list of {from, to, protocol?, expect} with --flows')
  const flows = parseFlows(text, request.flows)
  const model = request.topology ? await topologyFiles.load(request.topology) : undefined
  const started = new Date().toISOString()
  const seconds: number[] = []
  const outcomes: FlowOutcome[] = []
  const timed = async (flow: FlowSpec, run: () => Promise<DoctorReport> | DoctorReport): Promise<void> => {
    const t0 = performance.now()
    const result = await run()
    seconds.push((performance.now() - t0) / 1000)
    outcomes.push({from: flow.from, to: flow.to, expect: flow.expect, met: meets(result, flow.expect), result})
  }
  if (request.live) {
    const live = await import('./live-doctor.js')
    for (const flow of flows) await timed(flow, () => live.runLiveDoctorCommand({...request, from: flow.from, to: flow.to}, model, CHECKS, options))
  } else {
    const m = model as Model
    const resolved = flows.map((flow, i) => {
      try {
        // a name is resolved when the flow is traced; its source must be valid now
        return splitNameTarget(flow.to) ? (resolveSource(m, flow.from), undefined) : resolveFlow(m, flow.from, flow.to, flow.protocol)
      } catch (error) {
        if (error instanceof XccError) throw new XccError(`${request.flows}: flow [${i}] (${flow.from} → ${flow.to}): ${error.message}`, {exitCode: 2, ...(error.hint ? {hint: error.hint} : {})})
        throw error
      }
    })
    const contexts = kubeContextNames()
    await runWithProgress([{
      title: `Trace ${flows.length} flows and run ${CHECKS.length} checks on each`,
      run: async () => {
        for (const [i, flow] of flows.entries()) {
          const known = resolved[i]
          await timed(flow, () => (known ? evaluateDoctor(m, known, CHECKS, {contexts}) : evaluateDoctorTo(m, flow.from, flow.to, flow.protocol, CHECKS, {contexts})))
        }
      },
    }], {}, {interactive: options.interactive})
  }
  if (request.junit) await writeFileAtomic(request.junit, renderJunit({name: `xcc doctor --flows ${request.flows}`, outcomes, seconds, timestamp: started}))
  return outcomes
}
