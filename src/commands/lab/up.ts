import {Flags} from '@oclif/core'

import {canonicalFlow, listScenarios, scenarioPath} from '../../adapters/scenarios.js'
import {readTopologyFile} from '../../adapters/topology-file.js'
import {XccCommand} from '../../cli/base-command.js'
import {interruptible} from '../../cli/interrupt.js'
import {checkLabName, labUp} from '../../lab/lifecycle.js'
import {DEFAULT_LAB_NAME} from '../../lab/plan/names.js'
import {LAB_UP_TOOLS, preflight} from '../../lab/runtime/preflight.js'
import {labDir, paths} from '../../lab/runtime/state.js'
import {renderLabUp} from '../../render/lab-text.js'

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
      const scenarios = listScenarios()
      if (flags.json) this.printJson({schemaVersion: 1, scenarios: scenarios.map(({name, description}) => ({name, description}))})
      else process.stdout.write(`${scenarios.map((s) => `${s.name.padEnd(36)} ${s.description}`).join('\n')}\n`)
      return
    }
    checkLabName(flags.name)
    const path = flags.scenario ? scenarioPath(flags.scenario) : (flags.topology as string)
    const {text, model} = await readTopologyFile(path)
    preflight(LAB_UP_TOOLS)
    const started = Date.now()
    const progress = (m: string): void => void process.stderr.write(`${m}\n`)
    const input = {name: flags.name, model, topologyText: text, source: flags.scenario ? `scenario ${flags.scenario}` : path}
    const state = await interruptible((signal) => labUp(input, progress, signal), 'removing what the lab built')
    const elapsedMs = Date.now() - started
    if (flags.json) {
      this.printJson({
        schemaVersion: 1, name: state.name, source: state.source, kubeconfig: state.kubeconfig, elapsedMs,
        clusters: state.clusters.map(({name, context, server}) => ({name, context, server})),
        hosts: Object.fromEntries(Object.entries(state.plan.hosts).map(([ref, h]) => [ref, {namespace: h.ns, ...(h.address ? {address: h.address} : {})}])),
      })
    } else {
      // the lab's own copy, by absolute path: runnable from any directory, and exactly what was built
      const flow = canonicalFlow(text)
      process.stdout.write(renderLabUp(state, {elapsedMs, doctor: {topology: paths(labDir(state.name)).topology, ...(flow ? {flow} : {})}}))
    }
  }
}
