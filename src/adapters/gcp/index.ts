/**
 * Google Cloud for a command: project, credentials and endpoints resolved as gcloud resolves them
 * (core/gcp/settings.ts), then the Compute Engine and GKE ports. Loaded lazily by the commands that
 * need it: `xcc --version` and `xcc doctor --topology` never pay for the clients.
 */
import {XccError} from '../../core/errors.js'
import {NO_PROJECT_HINT, type ProjectChoice, chooseProject} from '../../core/gcp/settings.js'
import type {ComputeApi, GkeApi} from '../../core/ports/gcp.js'
import type {ComputeWriter, IamApi} from '../../core/ports/gcp-writes.js'
import {loadCredentials} from './auth.js'
import {GCP_REQUESTS_AT_ONCE, openCompute, permits} from './compute.js'
import {openGke} from './gke.js'
import {redact} from './errors.js'
import {openIam} from './iam.js'
import {readEndpoints, readGcloudProject} from './settings.js'
import {openComputeWriter} from './writes.js'

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

/**
 * What every Google Cloud command opens first: the project (§4), the endpoint overrides and the
 * credentials. `overrides`: the endpoint variables whose presence means an emulator on loopback,
 * where application default credentials must not wait for a metadata server.
 */
async function openSession(options: GcpOptions, overrides: readonly string[]) {
  const env = options.env ?? process.env
  if (overrides.some((name) => env[name]) && env.METADATA_SERVER_DETECTION === undefined) env.METADATA_SERVER_DETECTION = 'none'
  const project = resolveProject(options)
  const endpoints = readEndpoints(env)
  const credentials = await loadCredentials(env)
  return {project, endpoints, credentials, deadline: Date.now() + options.timeoutMs, stats: {requests: 0, retries: 0}}
}

export async function openGcp(options: GcpOptions): Promise<Gcp> {
  const {project, endpoints, credentials, deadline, stats} = await openSession(options, ['CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE'])
  // one bound on the requests in flight for the whole command, Compute and GKE alike
  const base = {project: project.project, auth: credentials.client, deadline, stats, acquire: permits(GCP_REQUESTS_AT_ONCE)}
  const [compute, gke] = await Promise.all([
    openCompute({...base, ...(endpoints.compute ? {endpoint: endpoints.compute} : {})}),
    openGke({...base, ...(endpoints.container ? {endpoint: endpoints.container} : {})}),
  ])
  return {project, compute, gke, stats}
}

export interface GcpWrites {
  readonly project: ProjectChoice
  readonly writer: ComputeWriter
  /** requests made so far (and retries) */
  readonly stats: {requests: number; retries: number}
}

/** the Compute write port for a command (`xcc link`): project, credentials and endpoint as openGcp resolves them */
export async function openGcpWrites(options: GcpOptions): Promise<GcpWrites> {
  const {project, endpoints, credentials, deadline, stats} = await openSession(options, ['CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE'])
  const writer = await openComputeWriter({project: project.project, auth: credentials.client, deadline, stats, ...(endpoints.compute ? {endpoint: endpoints.compute} : {})})
  return {project, writer, stats}
}

/** IAM's answer on the project (`xcc link` preflight): project, credentials and endpoint as openGcp resolves them */
export async function openGcpIam(options: GcpOptions): Promise<{project: ProjectChoice; iam: IamApi}> {
  const {project, endpoints, credentials, deadline} = await openSession(options, ['CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER', 'CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE'])
  const iam = await openIam({project: project.project, auth: credentials.client, deadline, ...(endpoints.resourceManager ? {endpoint: endpoints.resourceManager} : {})})
  return {project, iam}
}

/** A caller's Google access token, for a kubeconfig (`--auth token`) or to talk to a GKE cluster as GKE accepts it. */
export interface AccessToken {
  readonly token: string
  /** RFC 3339, when known (a token given in a variable says nothing of its expiry) */
  readonly expires?: string
  /** where it came from: the variable, or application default credentials */
  readonly source: string
}

export interface GkeAccess {
  readonly project: ProjectChoice
  readonly gke: GkeApi
  /** whether the GKE API is an override on this machine (an emulator: its clusters may be on loopback) */
  readonly localApi: boolean
  accessToken(): Promise<AccessToken>
  readonly stats: {requests: number; retries: number}
}

/** GKE alone (no Compute Engine client), with the caller's access token at hand: `xcc kubeconfig`. */
export async function openGkeAccess(options: GcpOptions): Promise<GkeAccess> {
  const {project, endpoints, credentials, deadline, stats} = await openSession(options, ['CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER'])
  const gke = await openGke({project: project.project, auth: credentials.client, deadline, stats, ...(endpoints.container ? {endpoint: endpoints.container} : {})})
  const host = endpoints.container?.host
  return {
    project, gke, stats, localApi: host !== undefined && /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/.test(host),
    async accessToken() {
      let token: string | null | undefined
      try {
        token = (await credentials.client.getAccessToken()).token
      } catch (error) {
        throw new XccError(`cannot get an access token from ${credentials.source}: ${redact((error as Error).message.split('\n')[0] ?? '')}`, {exitCode: 3, hint: 'gcloud auth application-default login, or set CLOUDSDK_AUTH_ACCESS_TOKEN_FILE'})
      }
      if (!token) throw new XccError(`${credentials.source} gave no access token`, {exitCode: 3})
      const fromVariable = credentials.source !== 'application default credentials'
      const expiry = fromVariable ? undefined : credentials.client.credentials.expiry_date
      return {token, source: credentials.source, ...(typeof expiry === 'number' ? {expires: new Date(expiry).toISOString().replace(/\.\d{3}Z$/, 'Z')} : {})}
    },
  }
}
