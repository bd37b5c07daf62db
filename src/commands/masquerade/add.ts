import {Flags} from '@oclif/core'

import {JSON_SCHEMA_VERSION, XccCommand} from '../../cli/base-command.js'
import {runMasqueradeAdd} from '../../app/masquerade.js'
import {masqueradeJson} from '../../render/masquerade-json.js'
import {renderApplied, renderPlanDiff, renderPlanYaml} from '../../render/masquerade-text.js'

export default class MasqueradeAdd extends XccCommand {
  static override summary = 'Masquerade pod traffic to peer ranges on every node of a cluster.'
  static override description = `Makes the nodes of the cluster SNAT pod traffic to the given ranges to their own address, so a peer that cannot route back to the pod range (seed 001: a routes-based cluster behind a VPC peering) can answer.

--mode auto (default) follows how the cluster already does SNAT: where the ip-masq-agent ConfigMap (kube-system/ip-masq-agent), its DaemonSet or GKE Dataplane V2 governs SNAT, the ranges are taken out of nonMasqueradeCIDRs (keeping every other field and the defaults a list would replace); otherwise xcc deploys the xcc-masquerade DaemonSet, which keeps an XCC-MASQ chain first in nat POSTROUTING on every node.

Running it twice changes nothing the second time; "xcc masquerade remove" restores exactly what was there before. What it reports is read back from the cluster: a write whose answer was lost (a timeout, a reset connection) is read again, and found in place it is success with a warning; an object that another writer changed meanwhile (a concurrent "xcc masquerade remove") fails the run, naming the object and what it holds now. Exit codes: 0 done (or nothing to do), 1 applied but the DaemonSet did not roll out in --timeout, 2 bad input (a range that holds the cluster's own pods, nodes or services; a config the agent would reject), 3 API unreachable or missing permission, a write whose outcome is unknown, or another writer changed the object meanwhile.`

  static override examples = [
    '<%= config.bin %> masquerade add --context frontend --cidr 10.193.0.0/16',
    '<%= config.bin %> masquerade add --context frontend --cidr 10.193.0.0/16,10.194.0.0/16 --dry-run',
    '<%= config.bin %> masquerade add --context frontend --cidr 10.193.0.0/16 --dry-run -o yaml > xcc-masquerade.yaml',
  ]

  static override flags = {
    context: Flags.string({description: 'Kube context of the cluster whose nodes masquerade.', required: true, helpValue: 'CONTEXT'}),
    cidr: Flags.string({description: 'Destination range(s) to masquerade, comma-separated or repeated.', required: true, multiple: true, helpValue: 'CIDR'}),
    mode: Flags.string({description: 'auto | ip-masq-agent | daemonset.', default: 'auto', helpValue: 'MODE'}),
    'dry-run': Flags.boolean({description: 'Print the change (a diff, or the manifests with -o yaml); change nothing.', default: false}),
    output: Flags.string({char: 'o', description: 'With --dry-run: diff (default) or yaml.', helpValue: 'FORMAT'}),
    image: Flags.string({description: 'Image of the xcc-masquerade DaemonSet (needs sh and iptables; default nicolaka/netshoot:v0.13, or the one already running).', helpValue: 'IMAGE'}),
    force: Flags.boolean({description: 'Take the ip-masq-agent ConfigMap as it is now as the state to restore, even if it was edited since xcc changed it.', default: false}),
    timeout: Flags.string({description: 'How long to wait for the DaemonSet rollout.', default: '2m', helpValue: 'DURATION'}),
    kubeconfig: Flags.string({description: 'Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).', helpValue: 'FILE'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(MasqueradeAdd)
    const result = await runMasqueradeAdd({...flags, dryRun: flags['dry-run']})
    if (flags.json) this.printJson({schemaVersion: JSON_SCHEMA_VERSION, ...masqueradeJson('add', result)})
    else if (!result.applied) process.stdout.write(flags.output === 'yaml' ? renderPlanYaml(result.plan) : renderPlanDiff(result.plan, {color: this.color(), verb: 'add'}))
    else process.stdout.write(renderApplied(result.plan, result.applied, {verb: 'add'}))
    process.exitCode = result.applied?.some((a) => a.rolledOut === false) ? 1 : 0
  }
}
