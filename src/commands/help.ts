import {Args, Command, loadHelpClass} from '@oclif/core'

/** `xcc help [COMMAND…]`, as oclif's help plugin does it: the same text as `xcc COMMAND --help`. */
export default class Help extends Command {
  static override summary = 'Show help for xcc or one of its commands.'
  static override strict = false
  static override args = {command: Args.string({description: 'The command (or topic) to show help for, e.g. "lab up".', required: false})}
  static override examples = ['<%= config.bin %> help', '<%= config.bin %> help doctor', '<%= config.bin %> help lab up']

  async run(): Promise<void> {
    const {argv} = await this.parse(Help)
    const words = (argv as string[]).flatMap((w) => w.split(':'))
    const HelpClass = await loadHelpClass(this.config)
    await new HelpClass(this.config, this.config.pjson.oclif.helpOptions ?? this.config.pjson.helpOptions).showHelp(words)
  }
}
