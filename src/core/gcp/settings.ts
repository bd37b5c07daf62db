/**
 * Which project, credentials and endpoints a command uses with Google Cloud — the same choices
 * gcloud and terraform make, so one environment points them all at the same place. Pure: the
 * adapter gathers the environment and the files; this decides.
 */
import {XccError} from '../errors.js'

export type ProjectSource = '--project' | 'CLOUDSDK_CORE_PROJECT' | 'GOOGLE_CLOUD_PROJECT' | 'gcloud configuration' | 'node providerID' | 'kube context name'

export interface ProjectChoice {
  readonly project: string
  readonly source: ProjectSource
}

export interface ProjectInputs {
  readonly flag?: string
  readonly env: Readonly<Record<string, string | undefined>>
  /** `core/project` of the active gcloud configuration (its files), when set */
  readonly gcloudProject?: string
  /** `spec.providerID` of the kube nodes at hand (`gce://P/ZONE/NAME`) */
  readonly providerIds?: readonly string[]
  /** kube context names at hand (`gke_P_LOCATION_CLUSTER`) */
  readonly contexts?: readonly string[]
}

const PROJECT = /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/
/** domain-scoped projects (example.com:my-project) exist too */
const SCOPED_PROJECT = /^[a-z][-a-z0-9.]{1,61}[a-z0-9]:[a-z][-a-z0-9]{4,28}[a-z0-9]$/

export function isProjectId(text: string): boolean {
  return PROJECT.test(text) || SCOPED_PROJECT.test(text)
}

/** --project, else CLOUDSDK_CORE_PROJECT, else GOOGLE_CLOUD_PROJECT, else gcloud's configuration, else the nodes, else the context names */
export function chooseProject(inputs: ProjectInputs): ProjectChoice | undefined {
  const candidates: Array<[string | undefined, ProjectSource]> = [
    [inputs.flag, '--project'],
    [inputs.env.CLOUDSDK_CORE_PROJECT, 'CLOUDSDK_CORE_PROJECT'],
    [inputs.env.GOOGLE_CLOUD_PROJECT, 'GOOGLE_CLOUD_PROJECT'],
    [inputs.gcloudProject, 'gcloud configuration'],
    [unique((inputs.providerIds ?? []).map((p) => /^gce:\/\/([^/]+)\//.exec(p)?.[1])), 'node providerID'],
    [unique((inputs.contexts ?? []).map((c) => /^gke_([^_]+)_[^_]+_.+$/.exec(c)?.[1])), 'kube context name'],
  ]
  for (const [value, source] of candidates) {
    if (value === undefined || value === '') continue
    if (!isProjectId(value)) throw new XccError(`${source} names the project "${value}", which is not a project id`, {exitCode: 2, hint: 'a project id is 6-30 lowercase letters, digits or hyphens, starting with a letter'})
    return {project: value, source}
  }
  return undefined
}

/** the one value of a list, when it has exactly one distinct (absent ones ignored) */
function unique(values: ReadonlyArray<string | undefined>): string | undefined {
  const set = new Set(values.filter((v): v is string => v !== undefined))
  return set.size === 1 ? [...set][0] : undefined
}

/** Where a client sends its requests: Google's endpoint, or an override such as a lab's emulator. */
export interface Endpoint {
  readonly host: string
  readonly port: number
  readonly protocol: 'http' | 'https'
}

/**
 * An endpoint override as gcloud takes it (`CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=
 * http://127.0.0.1:8080/compute/v1/`, `..._CONTAINER=http://127.0.0.1:8080/`): the Node clients
 * add the API's path themselves, so the override must end in exactly that path.
 */
export function parseEndpointOverride(name: string, value: string, apiPath: '/compute/v1/' | '/'): Endpoint {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new XccError(`${name}=${value}: not a URL`, {exitCode: 2, hint: `e.g. http://127.0.0.1:8080${apiPath}`})
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new XccError(`${name}=${value}: only http and https endpoints are supported`, {exitCode: 2})
  const path = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`
  if (path !== apiPath) throw new XccError(`${name}=${value}: the path must be ${apiPath} (as gcloud expects it)`, {exitCode: 2, hint: `e.g. ${url.protocol}//${url.host}${apiPath}`})
  const protocol = url.protocol === 'http:' ? 'http' : 'https'
  return {host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443, protocol}
}

export type CredentialSource = 'CLOUDSDK_AUTH_ACCESS_TOKEN' | 'CLOUDSDK_AUTH_ACCESS_TOKEN_FILE' | 'GOOGLE_OAUTH_ACCESS_TOKEN' | 'application default credentials'

/** the token variables, in the order gcloud and terraform read them; undefined: use ADC */
export function chooseTokenSource(env: Readonly<Record<string, string | undefined>>): Exclude<CredentialSource, 'application default credentials'> | undefined {
  if (env.CLOUDSDK_AUTH_ACCESS_TOKEN) return 'CLOUDSDK_AUTH_ACCESS_TOKEN'
  if (env.CLOUDSDK_AUTH_ACCESS_TOKEN_FILE) return 'CLOUDSDK_AUTH_ACCESS_TOKEN_FILE'
  if (env.GOOGLE_OAUTH_ACCESS_TOKEN) return 'GOOGLE_OAUTH_ACCESS_TOKEN'
  return undefined
}

export const NO_CREDENTIALS_HINT = [
  'give xcc credentials one of three ways:',
  '  an access token: CLOUDSDK_AUTH_ACCESS_TOKEN, CLOUDSDK_AUTH_ACCESS_TOKEN_FILE (as gcloud) or GOOGLE_OAUTH_ACCESS_TOKEN (as terraform)',
  '  application default credentials: gcloud auth application-default login, or GOOGLE_APPLICATION_CREDENTIALS=<key file>',
  '  the metadata server, when xcc runs on Google Cloud',
].join('\n')

export const NO_PROJECT_HINT = 'pass --project P, or set CLOUDSDK_CORE_PROJECT (or GOOGLE_CLOUD_PROJECT), or gcloud config set project P'
