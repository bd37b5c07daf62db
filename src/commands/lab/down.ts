import {Flags} from '@oclif/core'

import {DEFAULT_LAB_NAME, runLabDown} from '../../app/lab.js'
import {XccCommand} from '../../cli/base-command.js'
import {safeText} from '../../render/terminal.js'

export default class LabDown extends XccCommand {
  static override summary = 'Remove a lab: its processes, network namespaces, links and state.'
  static override description = 'Also cleans up after a crashed or half-built lab. Removing a lab that does not exist is not an error.'
  static override examples = ['<%= config.bin %> lab down', '<%= config.bin %> lab down --name mylab']
  static override flags = {
    name: Flags.string({description: 'Lab name.', default: DEFAULT_LAB_NAME, helpValue: 'NAME'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(LabDown)
    const result = await runLabDown(flags.name)
    const {elapsedMs} = result
    const other = result.runningElsewhere
    if (flags.json) {
      this.printJson({schemaVersion: 1, name: flags.name, existed: result.existed, namespacesRemoved: result.namespaces, processesStopped: result.processes, elapsedMs, ...(other ? {runningElsewhere: {xccHome: other}} : {})})
    } else if (other) {
      const left = `the namespaces xcc-${flags.name}-* belong to the running lab ${flags.name} of XCC_HOME ${other} and were left alone`
      process.stdout.write(`${safeText(result.existed ? `Lab ${flags.name} of XCC_HOME ${result.xccHome} removed (its stale state only: ${left}).` : `No lab named ${flags.name} under XCC_HOME ${result.xccHome}: nothing to remove (${left}).`)}\n`)
    } else {
      process.stdout.write(result.existed ? `Lab ${flags.name} removed (${result.namespaces} namespaces, ${result.processes} processes) in ${(elapsedMs / 1000).toFixed(1)} s.\n` : `No lab named ${flags.name}: nothing to remove.\n`)
    }
  }
}
