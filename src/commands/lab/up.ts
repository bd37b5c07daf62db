import {Flags} from '@oclif/core'

import {DEFAULT_LAB_NAME, listLabScenarios, runLabUp} from '../../app/lab.js'
import {XccCommand} from '../../cli/base-command.js'
import {renderLabUp} from '../../render/lab-text.js'
import {safeText} from '../../render/terminal.js'

export default class LabUp extends XccCommand {
  static override summary = 'Build a topology as real Linux networking with emulated Kubernetes APIs (needs root).'
  static override description = `Creates one network namespace per VPC network, VM, GKE node and pod, wires them as GCP would (routes, peerings, firewalls, load balancers, SNAT), starts one emulated Kubernetes API server per cluster on 127.0.0.1 and writes a kubeconfig with one context per cluster. Nothing of the lab is connected to the host's network.

Ctrl-C (or SIGTERM) while it builds removes what was built and exits 130.

Exit codes: 0 up, 2 bad input (unknown scenario, invalid topology, a lab of that name is running), 3 the machine cannot run it (not root, a tool missing, XCC_HOME unusable), 130 interrupted.`

  static override examples = [
    '<%= config.bin %> lab up --scenario list',
    '<%= config.bin %> lab up --scenario peered-vpcs-missing-snat',
    '<%= config.bin %> lab up --topology topo.yaml --name mylab',
  ]

  static override flags = {
    topology: Flags.string({char: 't', description: 'Topology file (apiVersion xcc/v1) to build.', helpValue: 'FILE', exactlyOne: ['topology', 'scenario']}),
    scenario: Flags.string({description: 'Built-in scenario to build ("list" shows them).', helpValue: 'NAME', exactlyOne: ['topology', 'scenario']}),
    name: Flags.string({description: 'Lab name (several labs with different names can run at once).', default: DEFAULT_LAB_NAME, helpValue: 'NAME'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(LabUp)
    if (flags.scenario === 'list') {
      const scenarios = listLabScenarios()
      if (flags.json) this.printJson({schemaVersion: 1, scenarios})
      else process.stdout.write(`${scenarios.map((s) => `${s.name.padEnd(36)} ${s.description}`).join('\n')}\n`)
      return
    }
    const view = await runLabUp({name: flags.name, topology: flags.topology, scenario: flags.scenario}, (m) => void process.stderr.write(`${safeText(m)}\n`))
    if (flags.json) {
      const {name, source, kubeconfig, elapsedMs, clusters, cloud, hosts} = view
      this.printJson({schemaVersion: 1, name, source, kubeconfig, elapsedMs, clusters, ...(cloud ? {cloud} : {}), hosts})
    } else process.stdout.write(renderLabUp(view))
  }
}
