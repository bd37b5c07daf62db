/**
 * `xcc link list` and `xcc link verify`: read the project as `xcc link plan` does (in memory),
 * find the links by their marks (core/link/inventory.ts) and run the doctor on each link's flows
 * — statically on the facts the APIs give, or (`verify --live`) with the live doctor's probes.
 */
import {writeFileAtomic} from '../adapters/files/index.js'
import {CHECKS} from '../checks/index.js'
import {meets} from '../core/doctor/flows.js'
import {type DoctorReport, evaluateDoctor} from '../core/doctor/report.js'
import {parseDuration} from '../core/duration.js'
import {XccError} from '../core/errors.js'
import {checkNamespaceFlag} from '../core/names.js'
import {withDaemonSetMasquerade} from '../core/link/daemonset-rules.js'
import {type FoundLink, findLinks} from '../core/link/inventory.js'
import {checkLinkName} from '../core/link/names.js'
import {type LinkFlow, type LinkListResult, type LinkVerifyFlow, type LinkVerifyResult, linkFlows, unverifiable} from '../core/link/verify-flows.js'
import type {Model} from '../core/topology/model-types.js'
import {parseTopology} from '../core/topology/parse.js'
import {resolveFlow} from '../core/trace/endpoints.js'
import {renderJunit} from '../render/junit.js'
import {kubeContextNames} from './deps.js'
import type {LiveDoctorFlags} from './live-doctor.js'
import {masqueradedBy} from './link-plan.js'
import {type ProjectRead, readProject} from './snapshot.js'

export interface ProjectRequest {
  readonly project?: string
  readonly kubeconfig?: string
  readonly timeoutMs: number
}

interface Project extends ProjectRead {
  /** what the checks count on beyond the APIs' facts */
  readonly notes: readonly string[]
}

/**
 * The project, with the rules of xcc's masquerade DaemonSet on the nodes of each link's client
 * cluster (core/link/daemonset-rules.ts): the APIs do not show them, and without them a client
 * masqueraded by `xcc masquerade add` would look as if its pods kept their address (SNAT-06).
 */
async function read(request: ProjectRequest): Promise<Project> {
  const project = await readProject({...(request.project ? {project: request.project} : {}), ...(request.kubeconfig ? {kubeconfig: request.kubeconfig} : {}), timeoutMs: request.timeoutMs})
  let model = project.model
  const notes: string[] = []
  const clients = [...new Set(findLinks(model).flatMap((l) => (l.from ? [l.from] : [])))].sort()
  for (const cluster of clients) {
    const context = project.contexts.find((c) => c.cluster === cluster)?.context
    const cidrs = (await masqueradedBy(request.kubeconfig, context)) ?? []
    if (cidrs.length === 0) continue
    model = parseTopology(JSON.stringify(withDaemonSetMasquerade(model, cluster, cidrs)), 'the project')
    notes.push(`${cluster}'s xcc-masquerade DaemonSet masquerades ${cidrs.join(',')}: its rules (on the nodes, which the APIs do not show) are counted`)
  }
  return {...project, model, notes}
}

function staticReport(model: Model, flow: LinkFlow, contexts: readonly string[]): DoctorReport {
  return evaluateDoctor(model, resolveFlow(model, flow.from, flow.to), CHECKS, {contexts})
}

/** one word for a link's flows: reachable when all are, else the first that is not */
function verdictOf(reports: readonly DoctorReport[]): string {
  const bad = reports.find((r) => r.verdict !== 'reachable')
  if (reports.length === 0) return 'unknown'
  return bad ? `${bad.verdict}${bad.diagnosis ? ` (${bad.diagnosis.code})` : ''}` : 'reachable'
}

export async function runLinkList(request: ProjectRequest): Promise<LinkListResult> {
  const project = await read(request)
  const contexts = kubeContextNames()
  const doctor = (link: FoundLink): string => {
    try {
      return verdictOf(linkFlows(project.model, link).map((f) => staticReport(project.model, f, contexts)))
    } catch (error) {
      // one link the doctor cannot trace does not hide the others
      if (error instanceof XccError) return `unknown (${error.message})`
      throw error
    }
  }
  const links = findLinks(project.model).map((link) => ({...link, doctor: doctor(link)}))
  return {project: project.project, links, notes: project.notes, skipped: project.skipped}
}

export interface LinkVerifyRequest extends ProjectRequest, Omit<LiveDoctorFlags, 'from' | 'to' | 'toContext' | 'node' | 'kubeconfig'> {
  readonly link: string
  readonly live: boolean
  readonly junit?: string
}

export async function runLinkVerify(request: LinkVerifyRequest, options: {interactive: boolean}): Promise<LinkVerifyResult> {
  checkLinkName(request.link)
  if (request.live) {
    // before any API is read: the probe pods' namespace goes into API paths, the durations into the probes
    checkNamespaceFlag('--probe-namespace', request.probeNamespace)
    parseDuration(request.timeout, 'probe-timeout', {min: 1, max: 300})
    parseDuration(request.startTimeout, 'start-timeout', {min: 1, max: 600})
  }
  const project = await read(request)
  const links = findLinks(project.model)
  const link = links.find((l) => l.name === request.link)
  if (!link) {
    throw new XccError(`no link named ${request.link} in project ${project.project}`, {hint: links.length > 0 ? `links: ${links.map((l) => l.name).join(', ')}` : 'the project has no link (xcc link list shows them)'})
  }
  const gap = unverifiable(project.model, link)
  const base = {project: project.project, link, live: request.live, notes: project.notes, skipped: project.skipped}
  if (gap) return {...base, flows: [], unverifiable: gap}
  const flows = linkFlows(project.model, link)
  const contextOf = (cluster: string | undefined): string | undefined => project.contexts.find((c) => c.cluster === cluster)?.context
  const started = new Date().toISOString()
  const seconds: number[] = []
  const outcomes: LinkVerifyFlow[] = []
  const contexts = kubeContextNames()
  for (const flow of flows) {
    const t0 = performance.now()
    let result: DoctorReport
    if (request.live) {
      const context = contextOf(link.from)
      if (!context) throw new XccError(`--live: no kube context reaches cluster ${link.from}'s API server`, {exitCode: 3, hint: 'add the cluster to your kubeconfig (gcloud container clusters get-credentials), or verify statically without --live'})
      const toContext = contextOf(link.to)
      const live = await import('./live-doctor.js')
      result = await live.runLiveDoctorCommand({
        ...request, from: context, to: flow.to, node: flow.node, ...(toContext ? {toContext} : {}), ...(request.kubeconfig ? {kubeconfig: request.kubeconfig} : {}),
      }, project.model, CHECKS, options)
    } else {
      result = staticReport(project.model, flow, contexts)
    }
    seconds.push((performance.now() - t0) / 1000)
    // live: the doctor's probe pod runs on the flow's node, from the client's context
    const from = request.live ? contextOf(link.from) ?? flow.from : flow.from
    const chosen = request.live ? `the doctor's probe pod on node ${flow.node} (pool ${flow.pool})` : flow.chosen
    outcomes.push({from, to: flow.to, expect: 'reachable', met: meets(result, 'reachable'), result, chosen, pool: flow.pool, node: flow.node})
  }
  if (request.junit) await writeFileAtomic(request.junit, renderJunit({name: `xcc link verify ${link.name}${request.live ? ' --live' : ''}`, outcomes, seconds, timestamp: started}))
  return {...base, flows: outcomes}
}
