import {Flags} from '@oclif/core'

import {runLinkList} from '../../app/link-verify.js'
import {XccCommand} from '../../cli/base-command.js'
import {parseDuration} from '../../core/duration.js'
import {linkListJson, renderLinkList} from '../../render/link-list.js'
import {safeText} from '../../render/terminal.js'

export default class LinkList extends XccCommand {
  static override summary = 'List the links of a project, found by their marks: mode, clusters, address, resources, complete or not, and the doctor\'s verdict.'
  static override description = `Reads the project (Compute Engine, GKE, and the clusters' kube APIs) as xcc link plan does and finds every link by the marks on its resources alone (xcc keeps no state file): the description {"managed-by":"xcc","link":…,"role":…}, and the peerings named xcc-<link>-peer-from and -peer-to. For each link: its mode (from the roles present), the client and server clusters and their networks, its address (the forwarding rule's IP:port, or GKE's load balancer it reuses), its resources by kind, its health — complete, or incomplete naming what is missing (as an interrupted xcc link create leaves it: run it again) — and the static doctor's verdict for the link's flows (xcc link verify shows them).

Exit codes: 0 listed (also when there is no link, or a link is incomplete), 2 bad input, 3 the environment failed (credentials, permissions, an API that cannot be reached).`

  static override examples = [
    '<%= config.bin %> link list',
    '<%= config.bin %> link list --project my-project --json',
  ]

  static override flags = {
    project: Flags.string({description: 'Google Cloud project (default: as gcloud finds it).', helpValue: 'PROJECT'}),
    kubeconfig: Flags.string({description: 'Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).', helpValue: 'FILE'}),
    timeout: Flags.string({description: 'How long the API calls may take in all, retries included.', default: '2m', helpValue: 'DURATION'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(LinkList)
    const result = await runLinkList({
      ...(flags.project ? {project: flags.project} : {}), ...(flags.kubeconfig ? {kubeconfig: flags.kubeconfig} : {}),
      timeoutMs: parseDuration(flags.timeout, 'timeout', {min: 1, max: 3600}) * 1000,
    })
    for (const s of result.skipped) process.stderr.write(`${safeText(`xcc: skipped ${s.kind} ${s.name}: ${s.reason}`)}\n`)
    if (flags.json) this.printJson(linkListJson(result))
    else process.stdout.write(renderLinkList(result, {color: this.color()}))
  }
}
