/**
 * `xcc doctor`: the static doctor (a topology file, traced and checked) or, when asked, the live
 * one (probes on the clusters; loaded only then: client-node and the probe code cost start-up).
 */
import {CHECKS} from '../checks/index.js'
import {type DoctorReport, evaluateDoctor} from '../core/doctor/report.js'
import {checkNamespaceFlag} from '../core/names.js'
import type {Model} from '../core/topology/model-types.js'
import {resolveFlow} from '../core/trace/endpoints.js'
import {runWithProgress} from '../render/progress.js'
import {kubeContextNames, topologyFiles} from './deps.js'
import type {LiveDoctorFlags} from './live-doctor.js'

export interface DoctorRequest extends LiveDoctorFlags {
  readonly topology?: string
  readonly protocol?: 'tcp' | 'udp'
  /** probe the live clusters (with a topology: it supplies the cloud facts and the prediction) */
  readonly live: boolean
}

export async function runDoctor(request: DoctorRequest, options: {interactive: boolean}): Promise<DoctorReport> {
  // before any file is read: the probe pods' namespace goes into API paths
  checkNamespaceFlag('--probe-namespace', request.probeNamespace)
  const model = request.topology ? await topologyFiles.load(request.topology) : undefined
  if (request.live) return (await import('./live-doctor.js')).runLiveDoctorCommand(request, model, CHECKS, options)
  return analyse(model as Model, request, options.interactive)
}

async function analyse(model: Model, request: DoctorRequest, interactive: boolean): Promise<DoctorReport> {
  const state: {report?: DoctorReport} = {}
  await runWithProgress([{
    title: `Trace ${request.from} → ${request.to} and run ${CHECKS.length} checks`,
    run: (s) => void (s.report = evaluateDoctor(model, resolveFlow(model, request.from, request.to, request.protocol), CHECKS, {contexts: kubeContextNames()})),
  }], state, {interactive})
  return state.report as DoctorReport
}
