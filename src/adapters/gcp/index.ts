/**
 * Google Cloud for a command: project, credentials and endpoints resolved as gcloud resolves them
 * (core/gcp/settings.ts), then the Compute Engine and GKE ports. Loaded lazily by the commands that
 * need it: `xcc --version` and `xcc doctor --topology` never pay for the clients.
 */
import {XccError} from '../../core/errors.js'
import {NO_PROJECT_HINT, type ProjectChoice, chooseProject} from '../../core/gcp/settings.js'
import type {ComputeApi, GkeApi} from '../../core/ports/gcp.js'
import {loadCredentials} from './auth.js'
import {GCP_REQUESTS_AT_ONCE, openCompute, permits} from './compute.js'
import {openGke} from './gke.js'
import {readEndpoints, readGcloudProject} from './settings.js'

export interface GcpOptions {
  readonly project?: string
  /** what the kube side offers to find the project (node providerIDs, context names) */
  readonly providerIds?: readonly string[]
  readonly contexts?: readonly string[]
  /** ms the whole command may take (retries stop at it) */
  readonly timeoutMs: number
  readonly env?: NodeJS.ProcessEnv
}

export interface Gcp {
  readonly project: ProjectChoice
  readonly compute: ComputeApi
  readonly gke: GkeApi
  /** requests made so far (and retries) */
  readonly stats: {requests: number; retries: number}
}

/** the project alone, without credentials or clients (exit 2 when none is known) */
export function resolveProject(options: Omit<GcpOptions, 'timeoutMs'>): ProjectChoice {
  const env = options.env ?? process.env
  const choice = chooseProject({env, gcloudProject: readGcloudProject(env), ...(options.project ? {flag: options.project} : {}), ...(options.providerIds ? {providerIds: options.providerIds} : {}), ...(options.contexts ? {contexts: options.contexts} : {})})
  if (!choice) throw new XccError('no Google Cloud project: xcc does not know which project to read', {exitCode: 2, hint: NO_PROJECT_HINT})
  return choice
}

/** whether a project can be found without asking for one (the doctor reads the cloud only then) */
export function knownProject(options: Omit<GcpOptions, 'timeoutMs'>): ProjectChoice | undefined {
  try {
    return resolveProject(options)
  } catch {
    return undefined
  }
}

export async function openGcp(options: GcpOptions): Promise<Gcp> {
  const env = options.env ?? process.env
  // an emulator on loopback: application default credentials must not wait for a metadata server
  if (env.CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE && env.METADATA_SERVER_DETECTION === undefined) env.METADATA_SERVER_DETECTION = 'none'
  const project = resolveProject(options)
  const endpoints = readEndpoints(env)
  const credentials = await loadCredentials(env)
  const stats = {requests: 0, retries: 0}
  // one bound on the requests in flight for the whole command, Compute and GKE alike
  const base = {project: project.project, auth: credentials.client, deadline: Date.now() + options.timeoutMs, stats, acquire: permits(GCP_REQUESTS_AT_ONCE)}
  const [compute, gke] = await Promise.all([
    openCompute({...base, ...(endpoints.compute ? {endpoint: endpoints.compute} : {})}),
    openGke({...base, ...(endpoints.container ? {endpoint: endpoints.container} : {})}),
  ])
  return {project, compute, gke, stats}
}
