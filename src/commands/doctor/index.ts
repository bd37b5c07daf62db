import {Flags} from '@oclif/core'

import {CHECKS} from '../../checks/index.js'
import {loadTopologyFile} from '../../adapters/topology-file.js'
import {XccCommand} from '../../cli/base-command.js'
import {type DoctorReport, evaluateDoctor} from '../../core/doctor/report.js'
import type {Model} from '../../core/topology/model-types.js'
import {resolveFlow} from '../../core/trace/endpoints.js'
import {renderDoctorText} from '../../render/doctor-text.js'
import {isInteractive, runWithProgress} from '../../render/progress.js'

export default class Doctor extends XccCommand {
  static override summary = 'Explain why a pod (or VM) can or cannot reach a destination, hop by hop, with the root cause and a fix.'
  static override description = `Traces a packet from the source to the destination across GKE nodes, VPC routes, peerings, gateway VMs, firewalls and internal load balancers, forward and back (the reply, with every NAT reversed), runs the checks, and names the root cause.

Exit codes: 0 reachable, 1 not reachable (or ambiguous, or unknown), 2 bad input, 3 environment failure, 4 a bug in xcc.`

  static override examples = [
    '<%= config.bin %> doctor --topology templates/scenarios/peered-vpcs-missing-snat.yaml --from frontend --to lb/backend-ilb',
    '<%= config.bin %> doctor --topology topo.yaml --from frontend/default/curl --to 10.193.0.3:32191 --json',
    '<%= config.bin %> doctor --topology topo.yaml --from node/gke-frontend-1 --to backend/default/dummy-backend',
  ]

  static override flags = {
    topology: Flags.string({char: 't', description: 'Topology file (apiVersion xcc/v1, YAML or JSON) to analyse.', required: true, helpValue: 'FILE'}),
    from: Flags.string({description: 'Source: <cluster>, <cluster>/<namespace>/<pod>, node/<name>, instance/<name> or an IPv4 address the topology owns.', required: true, helpValue: 'SOURCE'}),
    to: Flags.string({description: 'Destination: <ipv4>:<port>, lb/<forwarding-rule> or <cluster>/<namespace>/<service>.', required: true, helpValue: 'DESTINATION'}),
    protocol: Flags.string({description: 'Transport protocol (default: the destination\'s, else tcp).', options: ['tcp', 'udp']}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Doctor)
    const state: {model?: Model; report?: DoctorReport} = {}
    await runWithProgress([
      {title: `Load ${flags.topology}`, run: async (s) => void (s.model = await loadTopologyFile(flags.topology))},
      {title: `Trace ${flags.from} → ${flags.to} and run ${CHECKS.length} checks`, run: (s) => {
        const model = s.model as Model
        s.report = evaluateDoctor(model, resolveFlow(model, flags.from, flags.to, flags.protocol as 'tcp' | 'udp' | undefined), CHECKS)
      }},
    ], state, {interactive: !flags.json && isInteractive(process.stderr, process.env)})
    const report = state.report as DoctorReport
    if (flags.json) this.printJson(report)
    else if (process.stdout.isTTY && this.color()) {
      const {renderDoctorInk} = await import('../../render/doctor-ink.js')
      await renderDoctorInk(report, process.stdout)
    } else process.stdout.write(renderDoctorText(report, {color: this.color()}))
    process.exitCode = report.verdict === 'reachable' ? 0 : 1
  }
}
