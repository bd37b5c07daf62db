import {Flags} from '@oclif/core'

import {JSON_SCHEMA_VERSION, XccCommand} from '../../cli/base-command.js'
import {runMasqueradeList} from '../../app/masquerade.js'
import {renderListing} from '../../render/masquerade-text.js'

export default class MasqueradeList extends XccCommand {
  static override summary = 'Show, per node, whether pod traffic to each masqueraded range really leaves with the node address.'
  static override description = `Reads every node's nat table (a short-lived host-network pod per node prints iptables-save -t nat) and evaluates a packet from a pod of that node to each range xcc masquerades (plus any --cidr), so a node that did not get the rule shows as drift. Every wait is bounded (--timeout for a pod to start and finish, and each API call), and the pods are removed on every way out — a failure, a stalled API, Ctrl-C; when that removal fails too, xcc prints the command that removes them. Exit codes: 0 every node masquerades every range xcc manages, 1 drift (or a node's rules could not be read, or its pods could not be removed), 2 bad input, 3 API unreachable, stalled or missing permission.`

  static override examples = [
    '<%= config.bin %> masquerade list --context frontend',
    '<%= config.bin %> masquerade list --context frontend --cidr 10.193.0.0/16 --json',
  ]

  static override flags = {
    context: Flags.string({description: 'Kube context of the cluster.', required: true, helpValue: 'CONTEXT'}),
    cidr: Flags.string({description: 'Also evaluate these ranges.', multiple: true, helpValue: 'CIDR'}),
    image: Flags.string({description: 'Image of the node-reading pods (needs sh and iptables-save).', helpValue: 'IMAGE'}),
    timeout: Flags.string({description: 'How long a node-reading pod may take to start and finish.', default: '60s', helpValue: 'DURATION'}),
    kubeconfig: Flags.string({description: 'Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).', helpValue: 'FILE'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(MasqueradeList)
    const listing = await runMasqueradeList(flags)
    if (flags.json) this.printJson({schemaVersion: JSON_SCHEMA_VERSION, ...listing})
    else process.stdout.write(renderListing(listing, {color: this.color()}))
    process.exitCode = listing.drift || listing.leftovers ? 1 : 0
  }
}
