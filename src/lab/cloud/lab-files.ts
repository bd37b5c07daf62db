/**
 * The files of a lab's cloud in its state directory: the two tokens (0600, written once by
 * `xcc lab up`, read by the background process and named — never printed — by `xcc lab env`), and
 * the lab's own gcloud configuration directory (CLOUDSDK_CONFIG), so that gcloud pointed at the lab
 * never reads or writes the user's configuration and never probes the metadata server. The
 * configuration names the project and the admin token file: `gke-gcloud-auth-plugin`, which runs
 * `gcloud config config-helper`, then hands kubectl the lab's token.
 */
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {type CloudTokens, newCloudTokens} from './auth.js'

export interface CloudFiles {
  readonly adminTokenFile: string
  readonly viewerTokenFile: string
  readonly gcloudConfig: string
}

/** gcloud's `properties` file of the lab's configuration */
export function gcloudProperties(project: string, adminTokenFile: string): string {
  return [
    '[core]', `project = ${project}`, 'disable_usage_reporting = true', 'check_gce_metadata = false', '',
    '[component_manager]', 'disable_update_check = true', '',
    '[auth]', `access_token_file = ${adminTokenFile}`, '',
  ].join('\n')
}

/** Writes new tokens and the lab's gcloud configuration (the directory is created 0700). */
export function writeCloudFiles(files: CloudFiles, project: string): CloudTokens {
  const tokens = newCloudTokens()
  writeFileSync(files.adminTokenFile, tokens.admin, {mode: 0o600})
  writeFileSync(files.viewerTokenFile, tokens.viewer, {mode: 0o600})
  mkdirSync(join(files.gcloudConfig, 'configurations'), {recursive: true, mode: 0o700})
  writeFileSync(join(files.gcloudConfig, 'active_config'), 'default', {mode: 0o600})
  writeFileSync(join(files.gcloudConfig, 'configurations', 'config_default'), gcloudProperties(project, files.adminTokenFile), {mode: 0o600})
  return tokens
}

export function readCloudTokens(files: Pick<CloudFiles, 'adminTokenFile' | 'viewerTokenFile'>): CloudTokens {
  return {admin: readFileSync(files.adminTokenFile, 'utf8').trim(), viewer: readFileSync(files.viewerTokenFile, 'utf8').trim()}
}

export interface CloudEnvironmentInput {
  readonly kubeconfig: string
  readonly url: string
  readonly project: string
  readonly gcloudConfig: string
  readonly adminTokenFile: string
}

/**
 * The variables that point kubectl, gcloud, the Google Cloud client libraries and xcc at the lab
 * (contracts.md §4, §5), in the order `xcc lab env` prints them.
 */
export function cloudEnvironment(input: CloudEnvironmentInput): ReadonlyArray<readonly [string, string]> {
  return [
    ['KUBECONFIG', input.kubeconfig],
    ['CLOUDSDK_CONFIG', input.gcloudConfig],
    ['CLOUDSDK_CORE_PROJECT', input.project],
    ['CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE', `${input.url}/compute/v1/`],
    ['CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER', `${input.url}/`],
    // projects.testIamPermissions (xcc link's preflight; gcloud's v1 and v3 calls alike)
    ['CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER', `${input.url}/`],
    ['CLOUDSDK_AUTH_ACCESS_TOKEN_FILE', input.adminTokenFile],
    ['CLOUDSDK_CORE_CHECK_GCE_METADATA', 'false'],
    ['CLOUDSDK_CORE_DISABLE_USAGE_REPORTING', 'true'],
    ['CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK', 'true'],
    // google-auth-library (the Node clients): never wait for a metadata server that is not there
    ['METADATA_SERVER_DETECTION', 'none'],
    ['GOOGLE_CLOUD_PROJECT', input.project],
  ]
}
