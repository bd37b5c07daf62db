import {Flags} from '@oclif/core'

import {JSON_SCHEMA_VERSION, XccCommand} from '../../cli/base-command.js'
import {runDnsLink} from '../../app/dns.js'
import {DEFAULT_DOMAIN} from '../../core/dns/domain.js'
import {dnsJson} from '../../render/dns-json.js'
import {renderDnsApplied, renderDnsPlanDiff, renderDnsPlanYaml} from '../../render/dns-text.js'

export default class DnsLink extends XccCommand {
  static override summary = 'Make the pods of one cluster resolve the internal load balancers of another cluster\'s Services by name.'
  static override description = `After it, pods of --from-context resolve <service>.<namespace>.<cluster>.<domain> (the cluster being --to-context's cluster name) to the internal load-balancer address of that Service of --to-context: every Service with one, or those named with --service.

xcc runs a small DNS responder in --from-context (the public CoreDNS image, Deployment and ClusterIP Service xcc-dns-responder in kube-system, its records in a ConfigMap) and sends the zone <cluster>.<domain> to it: on kube-dns clusters only the stubDomains key of kube-system/kube-dns changes (every other key and entry is kept); on CoreDNS clusters one block between "# xcc:begin" and "# xcc:end" comments is added to the Corefile (every other byte is kept), or, where the Corefile imports custom/*.server, one key of kube-system/coredns-custom.

The DNS configuration is changed only once the responder is ready (its Deployment rolled out, every pod Ready), so the first lookups do not go to a server that is not there yet; xcc waits up to --timeout, and a responder that does not become ready (an image that cannot be pulled, a crash loop: named with the pod's reason) is exit 3 with the DNS configuration unchanged. A dry run does not wait.

Running it again refreshes the records (a moved load balancer) and changes nothing else; "xcc dns unlink" restores the exact previous configuration. Exit codes: 0 done (or nothing to do), 2 bad input (a domain that shadows cluster.local or a public TLD without --allow-public-domain, a kube-dns ConfigMap kube-dns would reject, a server block already serving the domain), 3 API unreachable or missing permission (named), or the responder not ready.`

  static override examples = [
    '<%= config.bin %> dns link --from-context frontend --to-context backend',
    '<%= config.bin %> dns link --from-context frontend --to-context backend --service shop/api --dry-run',
    '<%= config.bin %> dns link --from-context frontend --to-context backend --dry-run -o yaml > xcc-dns.yaml',
  ]

  static override flags = {
    'from-context': Flags.string({description: 'Kube context of the cluster whose pods resolve the names.', required: true, helpValue: 'CONTEXT'}),
    'to-context': Flags.string({description: 'Kube context of the cluster whose Services they name.', required: true, helpValue: 'CONTEXT'}),
    domain: Flags.string({description: 'Domain of the names.', default: DEFAULT_DOMAIN, helpValue: 'DOMAIN'}),
    service: Flags.string({description: 'Only these Services (NAMESPACE/NAME), comma-separated or repeated.', multiple: true, helpValue: 'NS/NAME'}),
    'allow-public-domain': Flags.boolean({description: 'Allow a domain under a public top-level domain (its real names become unresolvable in the cluster).', default: false}),
    force: Flags.boolean({description: 'Take over a kube-dns stub domain entry for the zone that xcc did not write (unlink gives it back).', default: false}),
    'responder-image': Flags.string({description: 'CoreDNS image of the responder (default registry.k8s.io/coredns/coredns:v1.11.3, or the one already running).', helpValue: 'IMAGE'}),
    timeout: Flags.string({description: 'How long to wait for the responder to be ready before the cluster DNS points at it.', default: '2m', helpValue: 'DURATION'}),
    'dry-run': Flags.boolean({description: 'Print the change (a diff, or the manifests with -o yaml); change nothing.', default: false}),
    output: Flags.string({char: 'o', description: 'With --dry-run: diff (default) or yaml.', helpValue: 'FORMAT'}),
    kubeconfig: Flags.string({description: 'Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).', helpValue: 'FILE'}),
    project: Flags.string({description: 'Google Cloud project of --to-context\'s cluster, where the internal load balancers xcc link made are read (default: as gcloud finds it, else the context\'s name).', helpValue: 'PROJECT'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(DnsLink)
    const result = await runDnsLink({
      fromContext: flags['from-context'], toContext: flags['to-context'], domain: flags.domain, allowPublicDomain: flags['allow-public-domain'], force: flags.force, dryRun: flags['dry-run'], timeout: flags.timeout,
      ...(flags.service ? {service: flags.service} : {}), ...(flags['responder-image'] ? {responderImage: flags['responder-image']} : {}),
      ...(flags.output ? {output: flags.output} : {}), ...(flags.kubeconfig ? {kubeconfig: flags.kubeconfig} : {}), ...(flags.project ? {project: flags.project} : {}),
    })
    if (flags.json) this.printJson({schemaVersion: JSON_SCHEMA_VERSION, ...dnsJson(result.plan, result.applied)})
    else if (!result.applied) process.stdout.write(flags.output === 'yaml' ? renderDnsPlanYaml(result.plan) : renderDnsPlanDiff(result.plan, {color: this.color()}))
    else process.stdout.write(renderDnsApplied(result.plan, result.applied))
  }
}
