import {Flags} from '@oclif/core'

import {runLinkCreate} from '../../app/link-create.js'
import {XccCommand} from '../../cli/base-command.js'
import {confirmOnTerminal} from '../../cli/confirm.js'
import {parseDuration} from '../../core/duration.js'
import {XccError} from '../../core/errors.js'
import {renderLinkPlanText} from '../../render/link-plan.js'
import {linkCreateJson, renderCreateOutcome, renderResourceBodies} from '../../render/link-result.js'
import {isInteractive} from '../../render/progress.js'
import {safeText} from '../../render/terminal.js'
import LinkPlan from './plan.js'

export default class LinkCreate extends XccCommand {
  static override summary = 'Wire two GKE clusters so one\'s pods reach a Service of the other: plan, confirm, apply, verify.'
  static override description = `Plans as xcc link plan does (same flags, same preflight: nothing is written when it refuses), shows the plan, asks for confirmation unless --yes or stdin is not a terminal, applies the Compute Engine changes in dependency order (progress on stderr), runs xcc masquerade on the client cluster when the plan says so (the ranges the link added are recorded in the ConfigMap kube-system/xcc-link-<link> of that cluster, so that delete undoes exactly them), then reads the project again and prints the Service's address IP:PORT and the doctor's verdict for --from's pods reaching it.

Running create again changes nothing ("No changes"); a create stopped by Ctrl-C or an API error is finished by running it again.

Exit codes: 0 applied and the doctor finds the Service reachable, 1 applied but the doctor finds it unreachable (or the confirmation was declined), 2 bad input or a plan that cannot work (nothing written), 3 an API or permission failure (what was applied is listed; running create again finishes the job), 130 interrupted.`

  static override examples = [
    '<%= config.bin %> link create fe-be --mode peering --from frontend --to backend --service default/dummy-backend --yes',
    '<%= config.bin %> link create c1-c2 --mode auto --from c1 --to c2 --service default/echoheaders --dry-run -o yaml',
  ]

  static override args = LinkPlan.args

  static override flags = {
    ...Object.fromEntries(Object.entries(LinkPlan.flags).filter(([k]) => k !== 'detailed-exitcode' && k !== 'timeout')) as Omit<typeof LinkPlan.flags, 'detailed-exitcode' | 'timeout'>,
    'dry-run': Flags.boolean({description: 'Plan only: print the plan (with -o, the resources\' bodies) and write nothing.', default: false}),
    output: Flags.string({char: 'o', description: 'With --dry-run: print the resources the plan would write as yaml or json.', options: ['yaml', 'json'], helpValue: 'FORMAT'}),
    yes: Flags.boolean({char: 'y', description: 'Apply without asking.', default: false}),
    timeout: Flags.string({description: 'How long the API calls may take in all, retries included.', default: '10m', helpValue: 'DURATION'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(LinkCreate)
    if (flags.output && !flags['dry-run']) throw new XccError(`-o ${flags.output} needs --dry-run`, {hint: 'xcc link create … --dry-run -o yaml prints the resources without writing them'})
    let service: {namespace: string; name: string} | undefined
    if (flags.service !== undefined) {
      const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z]([-a-z0-9]*[a-z0-9])?)$/.exec(flags.service)
      if (!m) throw new XccError(`--service ${flags.service}: must be NAMESPACE/NAME`, {hint: 'e.g. --service default/dummy-backend'})
      service = {namespace: m[1] as string, name: m[3] as string}
    }
    const color = this.color()
    const output = flags.output as 'yaml' | 'json' | undefined
    const result = await runLinkCreate({
      link: args.name, mode: flags.mode as 'peering' | 'gateway' | 'auto', from: flags.from, to: flags.to, ...(service ? {service} : {}), ...(flags.port ? {port: flags.port} : {}),
      ...(flags['via-network'] ? {viaNetwork: flags['via-network']} : {}), ...(flags['via-range'] ? {viaRange: flags['via-range']} : {}), gateways: flags.gateways, snat: flags.snat,
      ...(flags.project ? {project: flags.project} : {}), ...(flags.kubeconfig ? {kubeconfig: flags.kubeconfig} : {}), timeoutMs: parseDuration(flags.timeout, 'timeout', {min: 1, max: 3600}) * 1000,
      dryRun: flags['dry-run'], yes: flags.yes, stdinTty: Boolean(process.stdin.isTTY),
    }, {
      json: flags.json, interactive: !flags.json && isInteractive(process.stderr, process.env), color,
      show: (text) => process.stdout.write(text), note: (text) => process.stderr.write(`${safeText(text)}\n`), confirm: confirmOnTerminal,
    }, (planned) => (output ? renderResourceBodies(planned.plan, output) : renderLinkPlanText(planned.plan, {color})))
    if (flags.json) {
      this.printJson(linkCreateJson({plan: result.planned.plan, project: result.planned.project, dryRun: result.dryRun, kube: result.kube,
        ...(result.report ? {report: result.report} : {}), ...(result.address ? {address: result.address} : {}), ...(result.verify ? {verify: result.verify} : {})}))
    } else if (!result.dryRun) {
      process.stdout.write(renderCreateOutcome({link: args.name, from: result.planned.from, kube: result.kube, ...(result.address ? {address: result.address} : {}), ...(result.verify ? {verify: result.verify} : {})}, {color}))
    }
    if (result.declined || (result.verify && result.verify.verdict !== 'reachable')) process.exitCode = 1
  }
}
