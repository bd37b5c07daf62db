import {Args, Flags} from '@oclif/core'

import {runLinkVerify} from '../../app/link-verify.js'
import {XccCommand} from '../../cli/base-command.js'
import {parseDuration} from '../../core/duration.js'
import {DEFAULT_IMAGE} from '../../core/probe/manifests.js'
import {linkVerifyJson, renderLinkVerify} from '../../render/link-list.js'
import {isInteractive} from '../../render/progress.js'
import {safeText} from '../../render/terminal.js'

export default class LinkVerify extends XccCommand {
  static override summary = 'Check that a link works: the doctor on its flows, from the client cluster\'s pods to the link\'s address.'
  static override description = `Reads the project as xcc link list does, finds the link by its marks, and runs the doctor from the client cluster's pods to the link's address and port (the forwarding rule it owns, or GKE's it reuses): one flow per node pool of the client, from a pod running on one of its nodes (else a pod address on its first node); the output says what was chosen. Static by default, on the facts the APIs give; --live probes with the live doctor instead (a probe pod on each chosen node, captures, the prediction compared with what was seen).

Exit codes: 0 every flow reaches the address, 1 a flow does not (its diagnosis is shown) or the link cannot be verified (incomplete: no address or no client cluster), 2 bad input (an unknown link: the error lists the project's links), 3 the environment failed (credentials, permissions, an API that cannot be reached).`

  static override examples = [
    '<%= config.bin %> link verify fe-be',
    '<%= config.bin %> link verify fe-be --live --junit verify.xml',
    '<%= config.bin %> link verify c1-c2 --json',
  ]

  static override args = {name: Args.string({description: 'The link\'s name.', required: true})}

  static override flags = {
    live: Flags.boolean({description: 'Probe the live clusters (the live doctor) instead of checking the facts the APIs give.', default: false}),
    junit: Flags.string({description: 'Write a JUnit XML report (one test case per flow) to FILE.', helpValue: 'FILE'}),
    project: Flags.string({description: 'Google Cloud project (default: as gcloud finds it).', helpValue: 'PROJECT'}),
    kubeconfig: Flags.string({description: 'Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).', helpValue: 'FILE'}),
    timeout: Flags.string({description: 'How long the API calls may take in all, retries included.', default: '2m', helpValue: 'DURATION'}),
    'probe-timeout': Flags.string({description: 'Live: how long each probe waits for the connection.', default: '5s', helpValue: 'DURATION'}),
    'start-timeout': Flags.string({description: 'Live: how long pods may take to start (scheduling, image pull).', default: '60s', helpValue: 'DURATION'}),
    image: Flags.string({description: 'Live: image of the probe and capture pods.', default: DEFAULT_IMAGE, helpValue: 'IMAGE'}),
    'probe-namespace': Flags.string({description: 'Live: namespace of the probe and capture pods (must admit privileged pods).', default: 'default', helpValue: 'NAMESPACE'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(LinkVerify)
    const interactive = !flags.json && isInteractive(process.stderr, process.env)
    const result = await runLinkVerify({
      link: args.name, live: flags.live, ...(flags.junit ? {junit: flags.junit} : {}),
      ...(flags.project ? {project: flags.project} : {}), ...(flags.kubeconfig ? {kubeconfig: flags.kubeconfig} : {}),
      timeoutMs: parseDuration(flags.timeout, 'timeout', {min: 1, max: 3600}) * 1000,
      timeout: flags['probe-timeout'], startTimeout: flags['start-timeout'], image: flags.image, keep: false, probeNamespace: flags['probe-namespace'],
    }, {interactive})
    for (const s of result.skipped) process.stderr.write(`${safeText(`xcc: skipped ${s.kind} ${s.name}: ${s.reason}`)}\n`)
    if (flags.json) this.printJson(linkVerifyJson(result))
    else process.stdout.write(renderLinkVerify(result, {color: this.color()}))
    process.exitCode = !result.unverifiable && result.flows.length > 0 && result.flows.every((f) => f.met) ? 0 : 1
  }
}
