import {Args, Flags} from '@oclif/core'

import {DEFAULT_LAB_NAME, checkLabName, runLabExec} from '../../app/lab.js'
import {splitAtDoubleDash} from '../../cli/argv.js'
import {XccCommand} from '../../cli/base-command.js'
import {XccError} from '../../core/errors.js'

const USAGE = 'xcc lab exec [--name NAME] <host> -- <command...>'

export default class LabExec extends XccCommand {
  static override summary = 'Run a command inside a lab host\'s network namespace.'
  static override description = `<host> is instance/<name>, node/<name>, pod/<cluster>/<namespace>/<pod> or network/<name> (the VPC's router). Everything after the first -- is the command, passed on unchanged (also words such as --name, --json or --help). The command's exit code is passed through.`
  static override examples = [
    '<%= config.bin %> lab exec pod/frontend/default/curl -- curl -m 5 http://10.193.0.3:32191/',
    '<%= config.bin %> lab exec node/gke-frontend-1 -- tcpdump -nn -i eth0 -c 5 net 10.193.0.0/16',
  ]
  static override strict = false
  static override args = {host: Args.string({description: 'The host to run in.', required: true})}
  static override flags = {
    name: Flags.string({description: 'Lab name.', default: DEFAULT_LAB_NAME, helpValue: 'NAME'}),
  }

  async run(): Promise<void> {
    const {own, passThrough} = splitAtDoubleDash(this.argv)
    // without `--`, a flag-like word after the host is an unknown flag to oclif (exit 2)
    const {flags, args, raw} = await this.parse(LabExec, own)
    checkLabName(flags.name)
    // oclif's raw tokens keep the command line's order (its argv does not): the host, then any words before `--`
    const words = raw.filter((t) => t.type === 'arg').map((t) => t.input).slice(1)
    if (passThrough && words.length > 0) throw new XccError(`unexpected ${words.join(' ')} before --`, {exitCode: 2, hint: USAGE})
    // without `--`, the words after the host are the command
    const command = passThrough ?? words
    if (command.length === 0) throw new XccError('no command to run', {exitCode: 2, hint: USAGE})
    process.exitCode = await runLabExec(flags.name, args.host, command)
  }
}
