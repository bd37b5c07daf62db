import {Flags} from '@oclif/core'

import {JSON_SCHEMA_VERSION, XccCommand} from '../../cli/base-command.js'
import {runDnsUnlink} from '../../app/dns.js'
import {DEFAULT_DOMAIN} from '../../core/dns/domain.js'
import {dnsJson} from '../../render/dns-json.js'
import {renderDnsApplied, renderDnsPlanDiff, renderDnsPlanYaml} from '../../render/dns-text.js'

export default class DnsUnlink extends XccCommand {
  static override summary = 'Undo "xcc dns link": restore the cluster DNS configuration exactly as it was.'
  static override description = `Takes the zone <cluster>.<domain> out of --from-context's DNS configuration — the kube-dns stubDomains value as it was before the first link (the key absent again if it was), or the Corefile without xcc's block, byte for byte — and out of the responder, which is removed with its last zone. Running it again changes nothing. Exit codes: 0 done (or nothing to do), 2 bad input, 3 API unreachable or missing permission (named).`

  static override examples = [
    '<%= config.bin %> dns unlink --from-context frontend --to-context backend',
    '<%= config.bin %> dns unlink --from-context frontend --to-context backend --dry-run',
  ]

  static override flags = {
    'from-context': Flags.string({description: 'Kube context of the cluster whose pods resolve the names.', required: true, helpValue: 'CONTEXT'}),
    'to-context': Flags.string({description: 'Kube context of the linked cluster.', required: true, helpValue: 'CONTEXT'}),
    domain: Flags.string({description: 'Domain of the names.', default: DEFAULT_DOMAIN, helpValue: 'DOMAIN'}),
    'dry-run': Flags.boolean({description: 'Print the change (a diff, or the manifests with -o yaml); change nothing.', default: false}),
    output: Flags.string({char: 'o', description: 'With --dry-run: diff (default) or yaml.', helpValue: 'FORMAT'}),
    kubeconfig: Flags.string({description: 'Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).', helpValue: 'FILE'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(DnsUnlink)
    const result = await runDnsUnlink({
      fromContext: flags['from-context'], toContext: flags['to-context'], domain: flags.domain, dryRun: flags['dry-run'],
      ...(flags.output ? {output: flags.output} : {}), ...(flags.kubeconfig ? {kubeconfig: flags.kubeconfig} : {}),
    })
    if (flags.json) this.printJson({schemaVersion: JSON_SCHEMA_VERSION, ...dnsJson(result.plan, result.applied)})
    else if (!result.applied) process.stdout.write(flags.output === 'yaml' ? renderDnsPlanYaml(result.plan) : renderDnsPlanDiff(result.plan, {color: this.color()}))
    else process.stdout.write(renderDnsApplied(result.plan, result.applied))
  }
}
