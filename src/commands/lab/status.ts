import {Flags} from '@oclif/core'

import {XccCommand} from '../../cli/base-command.js'
import {checkLabName, labHealth} from '../../lab/lifecycle.js'
import {DEFAULT_LAB_NAME} from '../../lab/plan/names.js'
import {renderLabStatus} from '../../render/lab-text.js'

export default class LabStatus extends XccCommand {
  static override summary = 'Tell whether a lab is healthy and where its APIs and kubeconfig are.'
  static override description = 'Exit codes: 0 healthy, 1 missing or not healthy, 3 the lab\'s state cannot be read (a lab belongs to root: run it with sudo).'
  static override examples = ['<%= config.bin %> lab status', '<%= config.bin %> lab status --name mylab --json']
  static override flags = {
    name: Flags.string({description: 'Lab name.', default: DEFAULT_LAB_NAME, helpValue: 'NAME'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(LabStatus)
    checkLabName(flags.name)
    const health = await labHealth(flags.name)
    if (flags.json) {
      const s = health.state
      this.printJson({
        schemaVersion: 1, name: flags.name, exists: health.exists, healthy: health.healthy, problems: health.problems,
        ...(health.runningElsewhere ? {runningElsewhere: {xccHome: health.runningElsewhere}} : {}),
        ...(s ? {
          source: s.source, createdAt: s.createdAt, daemonPid: s.daemonPid ?? null, kubeconfig: s.kubeconfig,
          namespaces: {present: health.namespaces, expected: s.plan.namespaces.length},
          clusters: s.clusters.map(({name, context, server}) => ({name, context, server})),
          hosts: Object.fromEntries(Object.entries(s.plan.hosts).map(([ref, h]) => [ref, {namespace: h.ns, ...(h.address ? {address: h.address} : {})}])),
        } : {}),
      })
    } else process.stdout.write(renderLabStatus(flags.name, health))
    process.exitCode = health.healthy ? 0 : 1
  }
}
