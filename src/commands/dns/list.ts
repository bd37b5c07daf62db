import {Flags} from '@oclif/core'

import {JSON_SCHEMA_VERSION, XccCommand} from '../../cli/base-command.js'
import {runDnsList} from '../../app/dns.js'
import {renderDnsListing} from '../../render/dns-text.js'

export default class DnsList extends XccCommand {
  static override summary = 'Show the dns links of a cluster, their records, and whether each still matches the linked cluster.'
  static override description = `For each zone "xcc dns link" made in --context: the records its responder serves, each compared with the linked cluster now (read through the kube context recorded with the link): current, STALE (the load-balancer address changed; "xcc dns link" again refreshes it), GONE (the Service lost its internal address) or MISSING (a Service gained one since); and whether the cluster's DNS still sends the zone to the responder. Exit codes: 0 every record and stub domain matches, 1 drift (or a linked cluster could not be read), 2 bad input, 3 API unreachable or missing permission.`

  static override examples = [
    '<%= config.bin %> dns list --context frontend',
    '<%= config.bin %> dns list --context frontend --json',
  ]

  static override flags = {
    context: Flags.string({description: 'Kube context of the cluster whose links to show.', required: true, helpValue: 'CONTEXT'}),
    kubeconfig: Flags.string({description: 'Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).', helpValue: 'FILE'}),
    project: Flags.string({description: 'Google Cloud project of the linked clusters, where the internal load balancers xcc link made are read (default: as gcloud finds it, else the context\'s name).', helpValue: 'PROJECT'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(DnsList)
    const listing = await runDnsList({context: flags.context, ...(flags.kubeconfig ? {kubeconfig: flags.kubeconfig} : {}), ...(flags.project ? {project: flags.project} : {})})
    if (flags.json) this.printJson({schemaVersion: JSON_SCHEMA_VERSION, ...listing})
    else process.stdout.write(renderDnsListing(listing, {color: this.color()}))
    process.exitCode = listing.drift ? 1 : 0
  }
}
