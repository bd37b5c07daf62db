import {listIssued} from '../../app/kubeconfig-cluster.js'
import {JSON_SCHEMA_VERSION, XccCommand} from '../../cli/base-command.js'
import {parseDuration} from '../../core/duration.js'
import type {EndpointKind} from '../../core/kubeconfig/document.js'
import {renderList} from '../../render/kubeconfig-text.js'
import {clusterFlags} from '../../cli/kubeconfig-flags.js'

export default class KubeconfigList extends XccCommand {
  static override summary = 'List the kubeconfigs xcc issued on a GKE cluster: service account, role, expiry, last use.'
  static override description = `Reads the ServiceAccounts labelled app.kubernetes.io/managed-by=xcc (with xcc.dev/kubeconfig) and their token Secrets, as the caller (the GKE API's server and CA, the caller's Google access token). The expiry is the one the cluster granted; a token Secret made with --ttl never shows its kubernetes.io/legacy-token-last-used date.

Exit codes: 0 listed, 2 bad input (unknown or ambiguous cluster), 3 the environment failed (no credentials, a missing permission, an API that cannot be reached).`

  static override examples = ['<%= config.bin %> kubeconfig list --cluster frontend --location europe-west1']

  static override flags = {...clusterFlags}

  async run(): Promise<void> {
    const {flags} = await this.parse(KubeconfigList)
    const timeoutMs = parseDuration(flags.timeout, 'timeout', {min: 1, max: 3600}) * 1000
    const listing = await listIssued({cluster: flags.cluster, ...(flags.location ? {location: flags.location} : {}), ...(flags.project ? {project: flags.project} : {}), endpoint: flags.endpoint as EndpointKind, timeoutMs})
    if (flags.json) this.printJson({schemaVersion: JSON_SCHEMA_VERSION, ...listing})
    else process.stdout.write(renderList(listing))
  }
}
