import {Flags} from '@oclif/core'

import {DEFAULT_LAB_NAME, runLabStatus} from '../../app/lab.js'
import {XccCommand} from '../../cli/base-command.js'
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
    const view = await runLabStatus(flags.name)
    if (flags.json) {
      const {lab, runningElsewhere, name, exists, healthy, problems} = view
      this.printJson({
        schemaVersion: 1, name, exists, healthy, problems, ...(runningElsewhere ? {runningElsewhere: {xccHome: runningElsewhere}} : {}),
        ...(lab ? {source: lab.source, createdAt: lab.createdAt, daemonPid: lab.daemonPid, kubeconfig: lab.kubeconfig, namespaces: lab.namespaces, clusters: lab.clusters, ...(lab.cloud ? {cloud: lab.cloud} : {}), hosts: lab.hosts} : {}),
      })
    } else process.stdout.write(renderLabStatus(view))
    process.exitCode = view.healthy ? 0 : 1
  }
}
