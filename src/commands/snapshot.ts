import {Flags} from '@oclif/core'

import {runSnapshot} from '../app/snapshot.js'
import {XccCommand} from '../cli/base-command.js'
import {parseDuration} from '../core/duration.js'
import {XccError} from '../core/errors.js'
import {checkImage} from '../core/kube/image.js'
import {DEFAULT_IMAGE} from '../core/probe/manifests.js'
import {safeText} from '../render/terminal.js'

export default class Snapshot extends XccCommand {
  static override summary = 'Write one xcc/v1 topology of what a Google Cloud project and its GKE clusters hold.'
  static override description = `Reads Compute Engine (networks, subnets, peerings, routes, firewalls, instances, instance groups, health checks, backend services, forwarding rules) and GKE (clusters, node pools), and — from every kube context whose API server is one of the clusters — pods, Services, endpoints and the ip-masq-agent configuration. The output is deterministic: the same project gives the same bytes. What the format cannot express is reported on stderr (and under skipped in --json), never dropped silently. The project, credentials and endpoints are resolved as gcloud resolves them (--project, CLOUDSDK_CORE_PROJECT, GOOGLE_CLOUD_PROJECT, the active gcloud configuration; CLOUDSDK_AUTH_ACCESS_TOKEN[_FILE], GOOGLE_OAUTH_ACCESS_TOKEN or application default credentials; CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE and _CONTAINER).

Exit codes: 0 written, 2 bad input (unknown project, context or region; bad flags), 3 the environment failed (no credentials, a missing permission, an API that cannot be reached within --timeout).`

  static override examples = [
    '<%= config.bin %> snapshot --project my-project -o topology.yaml',
    '<%= config.bin %> snapshot --region europe-west1 --context gke_my-project_europe-west1-c_frontend',
    'eval "$(<%= config.bin %> lab env)" && <%= config.bin %> snapshot > lab.yaml',
  ]

  static override flags = {
    project: Flags.string({description: 'Google Cloud project (default: as gcloud finds it).', helpValue: 'PROJECT'}),
    region: Flags.string({description: 'Only this region (repeatable); global resources are always read.', multiple: true, helpValue: 'REGION'}),
    context: Flags.string({description: 'Kube context to read workloads from (repeatable; default: every context whose API server is a cluster of the project).', multiple: true, helpValue: 'CONTEXT'}),
    'all-contexts': Flags.boolean({description: 'Read workloads from every context of the kubeconfig that is a cluster of the project (the default).', default: false, exclusive: ['context']}),
    kubeconfig: Flags.string({description: 'Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).', helpValue: 'FILE'}),
    name: Flags.string({description: 'metadata.name of the topology (default: the project).', helpValue: 'NAME'}),
    output: Flags.string({char: 'o', description: 'Write the topology to FILE (atomically; - for stdout).', default: '-', helpValue: 'FILE'}),
    'node-rules': Flags.boolean({description: 'Also read each node\'s iptables-save -t nat, through a short-lived host-network pod per node (kube-system; removed at once), into the node\'s iptables field.', default: false}),
    image: Flags.string({description: 'Image of the node-reading pods of --node-rules (needs sh and iptables-save).', default: DEFAULT_IMAGE, helpValue: 'IMAGE', dependsOn: ['node-rules']}),
    timeout: Flags.string({description: 'How long the API calls may take in all, retries included.', default: '2m', helpValue: 'DURATION'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Snapshot)
    for (const r of flags.region ?? []) if (!/^[a-z]+-[a-z]+\d+$/.test(r)) throw new XccError(`--region ${r}: not a region`, {hint: 'a region looks like europe-west1'})
    if (flags['node-rules']) checkImage(flags.image)
    const timeoutMs = parseDuration(flags.timeout, 'timeout', {min: 1, max: 3600}) * 1000
    const result = await runSnapshot({
      ...(flags.project ? {project: flags.project} : {}), regions: flags.region ?? [], contexts: flags.context ?? [],
      ...(flags.kubeconfig ? {kubeconfig: flags.kubeconfig} : {}), ...(flags.name ? {name: flags.name} : {}), output: flags.output, timeoutMs,
      ...(flags['node-rules'] ? {nodeRules: {image: flags.image}} : {}),
    })
    for (const s of result.skipped) process.stderr.write(`${safeText(`xcc: skipped ${s.kind} ${s.name}: ${s.reason}`)}\n`)
    if (flags.json) {
      this.printJson({
        schemaVersion: 1, project: result.project, projectSource: result.projectSource, output: flags.output, contexts: result.contexts, skipped: result.skipped,
        requests: result.requests, retries: result.retries, ...(flags.output === '-' ? {topology: result.yaml} : {}),
      })
    } else if (flags.output === '-') process.stdout.write(result.yaml)
    else process.stderr.write(`${safeText(`xcc: wrote ${flags.output} (project ${result.project} from ${result.projectSource}; ${result.contexts.length} cluster${result.contexts.length === 1 ? '' : 's'} read through kube contexts; ${result.requests} API requests)`)}\n`)
  }
}
