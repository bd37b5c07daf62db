import {Flags} from '@oclif/core'

import {runDoctor, runDoctorFlows} from '../../app/doctor.js'
import {XccCommand} from '../../cli/base-command.js'
import {XccError} from '../../core/errors.js'
import {DEFAULT_IMAGE} from '../../core/probe/manifests.js'
import {renderDoctorText} from '../../render/doctor-text.js'
import {renderFlowsText} from '../../render/flows-text.js'
import {outputWidth} from '../../render/layout.js'
import {isInteractive} from '../../render/progress.js'

const LIVE_ONLY = ['to-context', 'node', 'timeout', 'image', 'keep', 'kubeconfig', 'probe-namespace', 'start-timeout'] as const

export default class Doctor extends XccCommand {
  static override summary = 'Explain why a pod (or VM) can or cannot reach a destination, hop by hop, with the root cause and a fix.'
  static override description = `With --topology, traces a packet from the source to the destination across GKE nodes, VPC routes, peerings, gateway VMs, firewalls and internal load balancers, forward and back (the reply, with every NAT reversed), runs the checks, and names the root cause.

Without --topology (or with --live), works on the live clusters of your kubeconfig: runs a probe pod that connects to the destination, captures packets with tcpdump on the source node, the destination nodes (--to-context, or a <context>/<namespace>/<service> destination) and, in an xcc lab, the gateway VMs the topology puts on the path; reads the node's NAT rules, compares what it observed with what the tracer predicted, and explains. Every pod it creates is labelled app.kubernetes.io/managed-by=xcc and removed at the end (xcc doctor cleanup removes leftovers).

Exit codes: 0 reachable, 1 not reachable (or ambiguous, or unknown), 2 bad input, 3 environment failure (API unreachable, missing permission), 4 a bug in xcc, 130 interrupted.`

  static override examples = [
    '<%= config.bin %> doctor --topology templates/scenarios/peered-vpcs-missing-snat.yaml --from frontend --to lb/backend-ilb',
    '<%= config.bin %> doctor --topology topo.yaml --from node/gke-frontend-1 --to backend/default/dummy-backend --json',
    '<%= config.bin %> doctor --from frontend --to 10.193.0.3:32191 --to-context backend',
    '<%= config.bin %> doctor --from frontend/default/curl --to backend/default/dummy-backend --timeout 3s --json',
    '<%= config.bin %> doctor --live --topology topo.yaml --from c1 --to 10.210.200.7:80 --to-context c2',
  ]

  static override flags = {
    topology: Flags.string({char: 't', description: 'Topology file (apiVersion xcc/v1, YAML or JSON): analyse it (static); with --live, or with a live flag (--to-context, --node, --timeout, --keep, …), probe the live clusters and check the observations against it.', helpValue: 'FILE'}),
    from: Flags.string({description: 'Source. Static: <cluster>, <cluster>/<namespace>/<pod>, node/<name>, instance/<name> or an IPv4 address. Live: <context> or <context>/<namespace>/<pod>.', helpValue: 'SOURCE', exclusive: ['flows']}),
    to: Flags.string({description: 'Destination. Static: <ipv4>:<port>, lb/<forwarding-rule>, <cluster>/<namespace>/<service> or <dns-name>:<port> (resolved as a pod of the source cluster would). Live: <ipv4>:<port>, <context>/<namespace>/<service> or <dns-name>:<port> (resolved in the source pod itself).', helpValue: 'DESTINATION', exclusive: ['flows']}),
    flows: Flags.string({description: 'Check many flows in one run: a YAML list of {from, to, protocol?, expect: reachable | unreachable | <DIAGNOSIS_CODE>}. Exit 0 when every flow meets its expectation.', helpValue: 'FILE'}),
    project: Flags.string({description: 'Live, without --topology: the Google Cloud project to read the cloud facts from (default: as gcloud finds it; none known: no cloud facts).', helpValue: 'PROJECT'}),
    junit: Flags.string({description: 'With --flows: write a JUnit XML report (one test case per flow) to FILE.', helpValue: 'FILE', dependsOn: ['flows']}),
    protocol: Flags.string({description: 'Transport protocol (default: the destination\'s, else tcp). Live probes are TCP.', options: ['tcp', 'udp']}),
    live: Flags.boolean({description: 'Probe the live clusters even with --topology (the file then supplies the cloud facts and the prediction).', default: false}),
    'to-context': Flags.string({description: 'Live: kube context of the destination, to capture on its nodes.', helpValue: 'CONTEXT'}),
    node: Flags.string({description: 'Live: run the probe on this node of the source context.', helpValue: 'NODE'}),
    timeout: Flags.string({description: 'Live: how long the probe waits for the connection.', default: '5s', helpValue: 'DURATION'}),
    'start-timeout': Flags.string({description: 'Live: how long pods may take to start (scheduling, image pull).', default: '60s', helpValue: 'DURATION'}),
    image: Flags.string({description: 'Live: image of the probe and capture pods (needs sh, curl, tcpdump, iptables-save, ip; getent for a name).', default: DEFAULT_IMAGE, helpValue: 'IMAGE'}),
    keep: Flags.boolean({description: 'Live: keep the probe and capture pods for inspection (remove them later with xcc doctor cleanup).', default: false}),
    kubeconfig: Flags.string({description: 'Live: kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).', helpValue: 'FILE'}),
    'probe-namespace': Flags.string({description: 'Live: namespace of the probe and capture pods (must admit privileged pods).', default: 'default', helpValue: 'NAMESPACE'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Doctor)
    // contracts.md §2: --topology alone analyses the file; a flag only probes use asks for probes too
    const liveFlags = LIVE_ONLY.filter((f) => this.argv.some((a) => a === `--${f}` || a.startsWith(`--${f}=`)))
    const live = flags.live || !flags.topology || liveFlags.length > 0
    if (live && flags.protocol === 'udp') throw new XccError('live probes are TCP only (--protocol udp)', {hint: 'drop --protocol, or analyse UDP statically with --topology'})
    const interactive = !flags.json && isInteractive(process.stderr, process.env)
    const common = {...flags, live, toContext: flags['to-context'], probeNamespace: flags['probe-namespace'], startTimeout: flags['start-timeout']}
    if (flags.flows) {
      const outcomes = await runDoctorFlows({...common, flows: flags.flows, junit: flags.junit}, {interactive})
      if (flags.json) this.printJson({schemaVersion: 1, flows: outcomes})
      else process.stdout.write(renderFlowsText(outcomes, {color: this.color()}))
      process.exitCode = outcomes.every((o) => o.met) ? 0 : 1
      return
    }
    if (!flags.from || !flags.to) throw new XccError('give --from and --to, or --flows FILE', {hint: 'xcc doctor --topology topo.yaml --from <source> --to <destination>'})
    const report = await runDoctor({...common, from: flags.from, to: flags.to, protocol: flags.protocol as 'tcp' | 'udp' | undefined}, {interactive})
    const width = outputWidth(process.stdout, process.env)
    // one renderer for terminals and pipes: the same lines, coloured in a terminal, written once
    if (flags.json) this.printJson(report)
    else process.stdout.write(renderDoctorText(report, {color: this.color(), width}))
    process.exitCode = report.verdict === 'reachable' ? 0 : 1
  }
}
