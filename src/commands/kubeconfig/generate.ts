import {Flags} from '@oclif/core'

import {generateKubeconfig} from '../../app/kubeconfig.js'
import {JSON_SCHEMA_VERSION, XccCommand} from '../../cli/base-command.js'
import {parseDuration} from '../../core/duration.js'
import {XccError} from '../../core/errors.js'
import {type AuthMode, type EndpointKind, toYaml} from '../../core/kubeconfig/document.js'
import {renderGenerate} from '../../render/kubeconfig-text.js'
import {safeText} from '../../render/terminal.js'
import {clusterFlags, optionalMergeValue} from '../../cli/kubeconfig-flags.js'

export default class KubeconfigGenerate extends XccCommand {
  static override summary = 'Write a kubeconfig for a GKE cluster: for people (exec plugin), CI jobs (short-lived token) or controllers (a least-privilege ServiceAccount), and prove it works.'
  static override description = `The server and CA come from the GKE API for the chosen --endpoint (the DNS endpoint has a publicly trusted certificate: no CA in the file). --auth exec writes gcloud's gke-gcloud-auth-plugin user (and warns when the plugin is not on the PATH); --auth token embeds the caller's Google access token (at most 1 h); --auth service-account creates a ServiceAccount, the role's RBAC (all labelled app.kubernetes.io/managed-by=xcc and named after it) and a token bound to an anchor Secret, valid for --ttl (24h by default; the granted expiry is printed, a shorter grant is a warning; --ttl never creates a legacy token Secret). The file is written 0600 atomically (-o FILE, - for stdout) or merged (--merge [FILE], default the kubeconfig file kubectl writes) under the kubeconfig lock, never changing current-context without --use-context and refusing a name already there without --force. Then, unless --no-verify, the new file is used: /version, who am I (SelfSubjectReview), and an access review for each rule of the role plus one it must be refused. Tokens are never printed to a terminal or in --json without --show-token. Legacy users in your kubeconfig (client certificates on GKE, auth-provider gcp, basic auth) are pointed out with the command that replaces them.

Exit codes: 0 written and verified, 1 a verification failed, 2 bad input (unknown or ambiguous cluster, a bad role file, an unwritable path, a name collision), 3 the environment failed (no credentials, a missing permission — nothing is created then —, an API that cannot be reached).`

  static override examples = [
    '<%= config.bin %> kubeconfig generate --cluster frontend --location europe-west1 --merge',
    '<%= config.bin %> kubeconfig generate --cluster frontend --auth token -o ci.kubeconfig',
    '<%= config.bin %> kubeconfig generate --cluster frontend --auth service-account --role service-reader --ttl 24h --endpoint internal -o gateway.kubeconfig',
    '<%= config.bin %> kubeconfig generate --cluster frontend --auth service-account --role ./rules.yaml --namespace shop --dry-run -o yaml',
  ]

  static override flags = {
    ...clusterFlags,
    auth: Flags.string({description: 'How the file authenticates: exec (gcloud\'s plugin), token (your access token, short-lived) or service-account.', options: ['exec', 'token', 'service-account'], default: 'exec'}),
    'service-account': Flags.string({description: 'The ServiceAccount to create (default kube-system/xcc-<role>).', helpValue: '[NS/]NAME'}),
    role: Flags.string({description: 'What it may do: view, service-reader, ingress-nginx, cluster-admin, or a YAML file of RBAC rules (default view).', helpValue: 'ROLE|FILE'}),
    namespace: Flags.string({description: 'Grant the role only in this namespace (repeatable; default cluster-wide).', multiple: true, helpValue: 'NS'}),
    ttl: Flags.string({description: 'How long the token lasts (default 24h; never = a legacy token Secret).', helpValue: '1h|24h|never'}),
    output: Flags.string({char: 'o', description: 'Write the kubeconfig to FILE (0600, atomically; - for stdout, the default without --merge); with --dry-run, yaml prints the objects.', helpValue: 'FILE'}),
    merge: Flags.string({description: 'Merge into FILE (default: the file kubectl writes, the first existing one of KUBECONFIG, else ~/.kube/config), under its lock.', helpValue: 'FILE'}),
    'context-name': Flags.string({description: 'Name of the context, cluster and user (default gcloud\'s gke_PROJECT_LOCATION_CLUSTER).', helpValue: 'NAME'}),
    'use-context': Flags.boolean({description: 'With --merge: make it the current context.', default: false}),
    force: Flags.boolean({description: 'Replace entries of the same name, or re-issue an existing ServiceAccount (its old tokens are revoked).', default: false}),
    verify: Flags.boolean({description: 'Use the new file to check it works (--no-verify skips it).', default: true, allowNo: true}),
    'dry-run': Flags.boolean({description: 'Create and write nothing: show what would be created (-o yaml: the objects as YAML).', default: false}),
    'show-token': Flags.boolean({description: 'Allow the token on a terminal and in --json.', default: false}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(KubeconfigGenerate, optionalMergeValue(this.argv))
    const timeoutMs = parseDuration(flags.timeout, 'timeout', {min: 1, max: 3600}) * 1000
    const dryYaml = flags['dry-run'] && flags.output === 'yaml'
    if (flags['dry-run'] && flags.output !== undefined && !dryYaml) throw new XccError('--dry-run writes nothing: -o takes only yaml with it', {exitCode: 2})
    if ((flags.output ?? (flags.merge === undefined ? '-' : undefined)) === '-' && process.stdout.isTTY && flags.auth !== 'exec' && !flags['show-token'] && !flags['dry-run']) {
      throw new XccError('-o - would print a token on the terminal', {exitCode: 2, hint: 'redirect stdout to a file or a pipe, write it with -o FILE, or pass --show-token'})
    }
    const progress = (text: string): void => {
      if (!flags.json) process.stderr.write(`${safeText(`xcc: ${text}`)}\n`)
    }
    const result = await generateKubeconfig({
      cluster: flags.cluster, ...(flags.location ? {location: flags.location} : {}), ...(flags.project ? {project: flags.project} : {}),
      auth: flags.auth as AuthMode, ...(flags['service-account'] ? {serviceAccount: flags['service-account']} : {}), ...(flags.role ? {role: flags.role} : {}),
      namespaces: flags.namespace ?? [], ...(flags.ttl ? {ttl: flags.ttl} : {}), endpoint: flags.endpoint as EndpointKind,
      ...(flags.output !== undefined && !dryYaml ? {output: flags.output} : {}), ...(flags.merge !== undefined ? {merge: flags.merge} : {}),
      ...(flags['context-name'] ? {contextName: flags['context-name']} : {}), useContext: flags['use-context'], force: flags.force, verify: flags.verify,
      dryRun: flags['dry-run'], timeoutMs, progress,
    })
    for (const w of result.warnings) process.stderr.write(`${safeText(`xcc: warning: ${w}`)}\n`)
    for (const l of result.legacyAuth) process.stderr.write(`${safeText(`xcc: legacy auth in ${l.file}: ${l.message}; replace it with: ${l.replacement}`)}\n`)
    const failed = (result.verification ?? []).some((r) => !r.ok)
    const {token, kubeconfig, redactedKubeconfig, dryRunObjects, ...rest} = result
    if (flags.json) {
      // stdout holds the JSON: a kubeconfig for stdout goes in it, its token only with --show-token
      const shown = flags['show-token'] ? kubeconfig : (redactedKubeconfig ?? kubeconfig)
      this.printJson({schemaVersion: JSON_SCHEMA_VERSION, ...rest, ...(dryRunObjects ? {objects: dryRunObjects} : {}), ...(shown ? {kubeconfig: shown} : {}), ...(flags['show-token'] && token ? {token} : {}), verified: result.verification ? !failed : undefined})
    } else if (dryRunObjects) {
      if (dryYaml) process.stdout.write(dryRunObjects.map((o) => `---\n${toYaml(o)}`).join(''))
      else process.stdout.write(`would create, on cluster ${result.cluster.name}:\n${dryRunObjects.map((o) => `  ${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`).join('\n')}\n`)
    } else if (kubeconfig) {
      process.stdout.write(kubeconfig)
      process.stderr.write(renderGenerate(result))
    } else process.stdout.write(renderGenerate(result))
    process.exitCode = failed ? 1 : 0
  }
}
