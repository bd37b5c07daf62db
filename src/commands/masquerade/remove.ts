import {Flags} from '@oclif/core'

import {JSON_SCHEMA_VERSION, XccCommand} from '../../cli/base-command.js'
import {runMasqueradeRemove} from '../../app/masquerade.js'
import {masqueradeJson} from '../../render/masquerade-json.js'
import {renderApplied, renderPlanDiff, renderPlanYaml} from '../../render/masquerade-text.js'

export default class MasqueradeRemove extends XccCommand {
  static override summary = 'Stop masquerading ranges that xcc masquerade add set up, restoring what was there before.'
  static override description = `Removes the given ranges (or --all) from where xcc keeps them: the xcc-masquerade DaemonSet (deleted when no range is left; its pods remove the XCC-MASQ chain from every node) or the ip-masq-agent ConfigMap (restored exactly as it was before xcc's first change when no range is left). What it reports is read back from the cluster, as for add (a lost answer is read again; another writer's change meanwhile fails the run, saying what the object holds now). Exit codes: 0 done, 1 the DaemonSet pods did not stop in --timeout, 2 bad input (a range xcc does not manage), 3 API unreachable or missing permission, a write whose outcome is unknown, or another writer changed the object meanwhile.`

  static override examples = [
    '<%= config.bin %> masquerade remove --context frontend --cidr 10.193.0.0/16',
    '<%= config.bin %> masquerade remove --context frontend --all --dry-run',
  ]

  static override flags = {
    context: Flags.string({description: 'Kube context of the cluster.', required: true, helpValue: 'CONTEXT'}),
    cidr: Flags.string({description: 'Range(s) to stop masquerading, comma-separated or repeated.', multiple: true, helpValue: 'CIDR', exclusive: ['all']}),
    all: Flags.boolean({description: 'Remove every range xcc masquerades in the context.', default: false}),
    force: Flags.boolean({description: 'When the ip-masq-agent ConfigMap was edited since xcc changed it: give the removed ranges back to its list as it is now.', default: false}),
    'dry-run': Flags.boolean({description: 'Print the change (a diff, or the manifests with -o yaml); change nothing.', default: false}),
    output: Flags.string({char: 'o', description: 'With --dry-run: diff (default) or yaml.', helpValue: 'FORMAT'}),
    timeout: Flags.string({description: 'How long to wait for the DaemonSet pods to stop or roll.', default: '2m', helpValue: 'DURATION'}),
    kubeconfig: Flags.string({description: 'Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).', helpValue: 'FILE'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(MasqueradeRemove)
    const result = await runMasqueradeRemove({...flags, dryRun: flags['dry-run']})
    if (flags.json) this.printJson({schemaVersion: JSON_SCHEMA_VERSION, ...masqueradeJson('remove', result)})
    else if (!result.applied) process.stdout.write(flags.output === 'yaml' ? renderPlanYaml(result.plan) : renderPlanDiff(result.plan, {color: this.color(), verb: 'remove'}))
    else process.stdout.write(renderApplied(result.plan, result.applied, {verb: 'remove'}))
    process.exitCode = result.applied?.some((a) => a.rolledOut === false) ? 1 : 0
  }
}
