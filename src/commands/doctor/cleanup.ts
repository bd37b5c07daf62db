import {Flags} from '@oclif/core'

import {runDoctorCleanup} from '../../app/doctor-cleanup.js'
import {XccCommand} from '../../cli/base-command.js'
import {safeText} from '../../render/terminal.js'

export default class DoctorCleanup extends XccCommand {
  static override summary = 'Remove the probe and capture pods that live doctor runs left behind (by label).'
  static override description = `Deletes every pod labelled app.kubernetes.io/managed-by=xcc (optionally of one run, --run-id) in the given contexts, in every namespace unless --namespace is given. Nothing else is touched. Exit codes: 0 done (also when there was nothing to remove), 1 some pods could not be removed, 2 bad input, 3 API unreachable or missing permission.`

  static override examples = [
    '<%= config.bin %> doctor cleanup --context frontend',
    '<%= config.bin %> doctor cleanup --context frontend --context backend --run-id 3fa9c2d1 --dry-run',
  ]

  static override flags = {
    context: Flags.string({description: 'Kube context to clean (repeatable; default: the current context).', multiple: true, helpValue: 'CONTEXT'}),
    'all-contexts': Flags.boolean({description: 'Clean every context of the kubeconfig.', default: false, exclusive: ['context']}),
    'run-id': Flags.string({description: 'Only the pods of this run.', helpValue: 'ID'}),
    namespace: Flags.string({char: 'n', description: 'Only this namespace (default: all namespaces).', helpValue: 'NAMESPACE'}),
    'dry-run': Flags.boolean({description: 'List what would be removed; remove nothing.', default: false}),
    kubeconfig: Flags.string({description: 'Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).', helpValue: 'FILE'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(DoctorCleanup)
    const {contexts: names, pods: items} = await runDoctorCleanup({
      contexts: flags.context, allContexts: flags['all-contexts'], runId: flags['run-id'], namespace: flags.namespace, dryRun: flags['dry-run'], kubeconfig: flags.kubeconfig,
    })
    const failed = items.filter((i) => i.error)
    if (flags.json) this.printJson({schemaVersion: 1, dryRun: flags['dry-run'], contexts: names, pods: items})
    else if (items.length === 0) process.stdout.write(`${safeText(`No xcc pods in ${names.join(', ')}.`)}\n`)
    else {
      for (const i of items) process.stdout.write(`${safeText(`${flags['dry-run'] ? 'would remove' : i.removed ? 'removed' : 'FAILED'}  ${i.context}/${i.namespace}/${i.name}${i.runId ? `  run ${i.runId}` : ''}${i.error ? `  ${i.error}` : ''}`)}\n`)
    }
    process.exitCode = failed.length > 0 ? 1 : 0
  }
}
