import {Args, Flags} from '@oclif/core'

import {runLinkDelete} from '../../app/link-delete.js'
import {XccCommand} from '../../cli/base-command.js'
import {confirmOnTerminal} from '../../cli/confirm.js'
import {parseDuration} from '../../core/duration.js'
import {linkDeleteJson, renderDeletePlanText} from '../../render/link-result.js'
import {isInteractive} from '../../render/progress.js'
import {safeText} from '../../render/terminal.js'

export default class LinkDelete extends XccCommand {
  static override summary = 'Remove everything a link created, and only that.'
  static override description = `Finds the link's resources by their marks (the names xcc-<link>-…, the description {"managed-by":"xcc","link":…}; its peerings by name) and its record in the clusters (the ConfigMap kube-system/xcc-link-<link>), shows what goes, asks unless --yes or stdin is not a terminal, deletes in reverse dependency order, then takes out of xcc masquerade the ranges the link added (a range masqueraded before the link stays) and removes the record. Nothing else is touched.

A link with nothing left prints "Nothing to delete" and exits 0 (as terraform destroy on an empty state); running delete again after an interruption finishes the job.

Exit codes: 0 deleted (or nothing to delete), 1 the confirmation was declined, 2 bad input, 3 an API or permission failure (what was deleted is listed), 130 interrupted.`

  static override examples = [
    '<%= config.bin %> link delete fe-be --yes',
    '<%= config.bin %> link delete fe-be --dry-run --json',
  ]

  static override args = {name: Args.string({description: 'The link\'s name.', required: true})}

  static override flags = {
    project: Flags.string({description: 'Google Cloud project (default: as gcloud finds it).', helpValue: 'PROJECT'}),
    kubeconfig: Flags.string({description: 'Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).', helpValue: 'FILE'}),
    'dry-run': Flags.boolean({description: 'Show what would be deleted; change nothing.', default: false}),
    yes: Flags.boolean({char: 'y', description: 'Delete without asking.', default: false}),
    timeout: Flags.string({description: 'How long the API calls may take in all, retries included.', default: '10m', helpValue: 'DURATION'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(LinkDelete)
    const color = this.color()
    const result = await runLinkDelete({
      link: args.name, ...(flags.project ? {project: flags.project} : {}), ...(flags.kubeconfig ? {kubeconfig: flags.kubeconfig} : {}),
      timeoutMs: parseDuration(flags.timeout, 'timeout', {min: 1, max: 3600}) * 1000, dryRun: flags['dry-run'], yes: flags.yes, stdinTty: Boolean(process.stdin.isTTY),
    }, {
      json: flags.json, interactive: !flags.json && isInteractive(process.stderr, process.env), color,
      show: (text) => process.stdout.write(text), note: (text) => process.stderr.write(`${safeText(text)}\n`), confirm: confirmOnTerminal,
    }, (plan) => renderDeletePlanText(plan, {color}))
    if (flags.json) this.printJson(linkDeleteJson({plan: result.plan, dryRun: result.dryRun, unmasqueraded: result.unmasqueraded, annotations: result.annotations, ...(result.report ? {report: result.report} : {})}))
    else if (!result.dryRun && !result.declined && (result.report || result.unmasqueraded.length)) process.stdout.write(`Link ${args.name}: deleted.\n`)
    if (result.declined) process.exitCode = 1
  }
}
