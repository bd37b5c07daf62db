import {Args, Flags} from '@oclif/core'

import {runLinkPlan} from '../../app/link-plan.js'
import {XccCommand} from '../../cli/base-command.js'
import {parseDuration} from '../../core/duration.js'
import {XccError} from '../../core/errors.js'
import {hasChanges, linkPlanJson, renderLinkPlanText} from '../../render/link-plan.js'
import {safeText} from '../../render/terminal.js'

export default class LinkPlan extends XccCommand {
  static override summary = 'Show what it takes to let one GKE cluster\'s pods reach a Service of another: the plan, nothing written.'
  static override description = `Reads the project (Compute Engine, GKE, and the clusters' kube APIs through the kube contexts whose API server is a cluster's endpoint), works out what the link needs and compares it with what exists. Everything the link creates is named xcc-<link>-<role>[-<side>] and carries the description {"managed-by":"xcc","link":…,"role":…,"v":1} (and the labels managed-by=xcc, xcc-link=<link> where the kind has labels): that mark is how a later plan finds the link's resources, and a resource of a needed name without it stops the plan.

--mode peering: the two networks peered both ways, firewall rules for the client's node range (and pod range where the pods keep their address) and the health checkers, an internal load balancer for --service (GKE's own for an internal LoadBalancer Service, else one over the node instance groups on the node port; global access across regions), and xcc masquerade on the client when its pods would send with their own address. --mode gateway: a shared network and subnet, --gateways VMs per cluster that forward and masquerade, an internal load balancer in the shared subnet for the Service, firewall rules and routes. --mode auto picks peering unless the ranges overlap, and says why.

Exit codes: 0 planned (with --detailed-exitcode: 0 nothing to change, 2 changes to make), 2 bad input or a plan that cannot work (overlapping ranges, a name taken by something xcc does not own, an unknown cluster or Service), 3 the environment failed (credentials, permissions, an API that cannot be reached).`

  static override examples = [
    '<%= config.bin %> link plan fe-be --mode peering --from frontend --to backend --service default/dummy-backend',
    '<%= config.bin %> link plan c1-c2 --mode auto --from c1 --to c2 --service default/echoheaders --json',
    '<%= config.bin %> link plan c1-c2 --mode gateway --from us-west1-a/c1 --to c2 --service default/echoheaders --via-range 10.210.200.0/24 --detailed-exitcode',
  ]

  static override args = {name: Args.string({description: 'The link\'s name (lowercase letters, digits, hyphens; part of every resource name).', required: true})}

  static override flags = {
    mode: Flags.string({description: 'peering, gateway or auto (peering unless the ranges overlap).', default: 'auto', options: ['peering', 'gateway', 'auto'], helpValue: 'MODE'}),
    from: Flags.string({description: 'The client cluster (NAME, or LOCATION/NAME when the name is ambiguous).', required: true, helpValue: 'CLUSTER'}),
    to: Flags.string({description: 'The server cluster, where --service runs.', required: true, helpValue: 'CLUSTER'}),
    service: Flags.string({description: 'The Service in --to that --from\'s pods must reach (NAMESPACE/NAME).', helpValue: 'NS/NAME'}),
    port: Flags.integer({description: 'Which port of the Service (default: its first TCP port).', min: 1, max: 65535, helpValue: 'PORT'}),
    'via-network': Flags.string({description: 'gateway: the shared network (default xcc-<link>-shared; an existing one is used, not owned).', helpValue: 'NETWORK'}),
    'via-range': Flags.string({description: 'gateway: the shared subnet\'s range (default: the first /24 from 10.210.200.0/24 up that overlaps nothing).', helpValue: 'CIDR'}),
    gateways: Flags.integer({description: 'gateway: VMs per cluster.', default: 2, min: 1, max: 8, helpValue: 'N'}),
    snat: Flags.boolean({description: 'peering: masquerade the client\'s pods where they would keep their address (--no-snat: exchange custom routes instead).', default: true, allowNo: true}),
    project: Flags.string({description: 'Google Cloud project (default: as gcloud finds it).', helpValue: 'PROJECT'}),
    kubeconfig: Flags.string({description: 'Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).', helpValue: 'FILE'}),
    'detailed-exitcode': Flags.boolean({description: 'Exit 0 when there is nothing to change, 2 when there is (as terraform plan -detailed-exitcode).', default: false}),
    timeout: Flags.string({description: 'How long the API calls may take in all, retries included.', default: '2m', helpValue: 'DURATION'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(LinkPlan)
    let service: {namespace: string; name: string} | undefined
    if (flags.service !== undefined) {
      const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z]([-a-z0-9]*[a-z0-9])?)$/.exec(flags.service)
      if (!m) throw new XccError(`--service ${flags.service}: must be NAMESPACE/NAME`, {hint: 'e.g. --service default/dummy-backend'})
      service = {namespace: m[1] as string, name: m[3] as string}
    }
    const result = await runLinkPlan({
      link: args.name, mode: flags.mode as 'peering' | 'gateway' | 'auto', from: flags.from, to: flags.to, ...(service ? {service} : {}), ...(flags.port ? {port: flags.port} : {}),
      ...(flags['via-network'] ? {viaNetwork: flags['via-network']} : {}), ...(flags['via-range'] ? {viaRange: flags['via-range']} : {}), gateways: flags.gateways, snat: flags.snat,
      ...(flags.project ? {project: flags.project} : {}), ...(flags.kubeconfig ? {kubeconfig: flags.kubeconfig} : {}), timeoutMs: parseDuration(flags.timeout, 'timeout', {min: 1, max: 3600}) * 1000,
    })
    for (const s of result.skipped) process.stderr.write(`${safeText(`xcc: skipped ${s.kind} ${s.name}: ${s.reason}`)}\n`)
    if (flags.json) this.printJson(linkPlanJson(result.plan, result.project))
    else process.stdout.write(renderLinkPlanText(result.plan, {color: this.color()}))
    if (flags['detailed-exitcode'] && hasChanges(result.plan)) process.exitCode = 2
  }
}
