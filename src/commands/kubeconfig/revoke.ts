import {Flags} from '@oclif/core'

import {endpointOf, openAsCaller, resolveCluster, revokeIssued} from '../../app/kubeconfig-cluster.js'
import {JSON_SCHEMA_VERSION, XccCommand} from '../../cli/base-command.js'
import {parseDuration} from '../../core/duration.js'
import type {EndpointKind} from '../../core/kubeconfig/document.js'
import {parseServiceAccount} from '../../core/kubeconfig/objects.js'
import {safeText} from '../../render/terminal.js'
import {clusterFlags} from '../../cli/kubeconfig-flags.js'

export default class KubeconfigRevoke extends XccCommand {
  static override summary = 'Revoke a kubeconfig xcc issued: its tokens stop working at once.'
  static override description = `Deletes the anchor Secret the service account's tokens are bound to (they are refused from then on), then the bindings, the roles and the ServiceAccount that xcc kubeconfig generate created — each only when it carries xcc's labels for that service account, and nothing else.

Exit codes: 0 revoked, 2 bad input (unknown cluster, a service account xcc did not issue), 3 the environment failed (no credentials, a missing permission, an API that cannot be reached).`

  static override examples = ['<%= config.bin %> kubeconfig revoke --cluster frontend --service-account kube-system/xcc-service-reader']

  static override flags = {
    ...clusterFlags,
    'service-account': Flags.string({description: 'The ServiceAccount of the kubeconfig (a name alone is in kube-system).', required: true, helpValue: '[NS/]NAME'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(KubeconfigRevoke)
    const timeoutMs = parseDuration(flags.timeout, 'timeout', {min: 1, max: 3600}) * 1000
    const sa = parseServiceAccount(flags['service-account'], 'view')
    const resolved = await resolveCluster({cluster: flags.cluster, ...(flags.location ? {location: flags.location} : {}), ...(flags.project ? {project: flags.project} : {}), timeoutMs})
    const kube = await openAsCaller(resolved, endpointOf(resolved, flags.endpoint as EndpointKind, 'service-account'))
    const deleted = await revokeIssued(kube, sa, {requireIssued: true})
    const names = deleted.map((d) => `${d.kind.toLowerCase()} ${d.namespace ? `${d.namespace}/` : ''}${d.name}`)
    if (flags.json) this.printJson({schemaVersion: JSON_SCHEMA_VERSION, project: resolved.project, cluster: resolved.cluster.name, location: resolved.cluster.location, serviceAccount: `${sa.namespace}/${sa.name}`, deleted})
    else process.stdout.write(`${safeText(`revoked serviceaccount ${sa.namespace}/${sa.name} on cluster ${resolved.cluster.name}: deleted ${names.join(', ')}`)}\n`)
  }
}
