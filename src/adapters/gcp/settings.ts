/**
 * The environment of a Google Cloud command: the project (contracts: --project, the variables,
 * gcloud's active configuration read from its files without running gcloud, the nodes, the
 * context names), the credentials (the token variables gcloud and terraform read, else
 * application default credentials) and the endpoints (gcloud's endpoint overrides).
 */
import {readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

import {type Endpoint, parseEndpointOverride} from '../../core/gcp/settings.js'

/** gcloud's configuration directory: CLOUDSDK_CONFIG, else ~/.config/gcloud */
export function gcloudConfigDir(env: NodeJS.ProcessEnv): string {
  return env.CLOUDSDK_CONFIG || join(env.HOME || homedir(), '.config', 'gcloud')
}

/** `core/project` of gcloud's active configuration (CLOUDSDK_ACTIVE_CONFIG_NAME, else the active_config file, else default) */
export function readGcloudProject(env: NodeJS.ProcessEnv): string | undefined {
  const dir = gcloudConfigDir(env)
  let name = env.CLOUDSDK_ACTIVE_CONFIG_NAME
  if (!name) {
    try {
      name = readFileSync(join(dir, 'active_config'), 'utf8').trim()
    } catch {
      name = 'default'
    }
  }
  let text: string
  try {
    text = readFileSync(join(dir, 'configurations', `config_${name}`), 'utf8')
  } catch {
    return undefined
  }
  let section = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    const header = /^\[(.+)\]$/.exec(line)
    if (header) section = header[1] as string
    else if (section === 'core') {
      const m = /^project\s*=\s*(\S+)$/.exec(line)
      if (m) return m[1]
    }
  }
  return undefined
}

export interface Endpoints {
  readonly compute?: Endpoint
  readonly container?: Endpoint
  /** Cloud Resource Manager (testIamPermissions), as gcloud's `api_endpoint_overrides/cloudresourcemanager` */
  readonly resourceManager?: Endpoint
}

export function readEndpoints(env: NodeJS.ProcessEnv): Endpoints {
  const compute = env.CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE
  const container = env.CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER
  const resourceManager = env.CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER
  return {
    ...(compute ? {compute: parseEndpointOverride('CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE', compute, '/compute/v1/')} : {}),
    ...(container ? {container: parseEndpointOverride('CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER', container, '/')} : {}),
    ...(resourceManager ? {resourceManager: parseEndpointOverride('CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER', resourceManager, '/')} : {}),
  }
}
