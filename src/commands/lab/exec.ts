import {Args, Flags} from '@oclif/core'

import {DEFAULT_LAB_NAME, checkLabName, runLabExec} from '../../app/lab.js'
import {commandAfterPositionals, shellQuote, splitAtDoubleDash} from '../../cli/argv.js'
import {XccCommand} from '../../cli/base-command.js'
import {XccError} from '../../core/errors.js'

const USAGE = 'xcc lab exec [--name NAME] <host> -- <command...>'

export default class LabExec extends XccCommand {
  static override summary = 'Run a command inside a lab host\'s network namespace.'
  static override description = `<host> is instance/<name>, node/<name>, pod/<cluster>/<namespace>/<pod> or network/<name> (the VPC's router). The command follows --: everything after the first -- is passed on unchanged (also words such as --name, --json or --help). Without --, xcc refuses and prints the command line with --. The command's exit code is passed through.`
  static override examples = [
    '<%= config.bin %> lab exec pod/frontend/default/curl -- curl -m 5 http://10.193.0.3:32191/',
    '<%= config.bin %> lab exec node/gke-frontend-1 -- tcpdump -nn -i eth0 -c 5 net 10.193.0.0/16',
  ]
  static override strict = false
  static override args = {host: Args.string({description: 'The host to run in.', required: true})}
  static override flags = {
    name: Flags.string({description: 'Lab name.', default: DEFAULT_LAB_NAME, helpValue: 'NAME'}),
  }

  /** xcc's words: before `--`; without it, before the command (which starts after the host) */
  private split(): {own: string[]; command?: string[]; passThrough?: string[]} {
    const {own, passThrough} = splitAtDoubleDash(this.argv)
    return passThrough ? {own, passThrough} : commandAfterPositionals(own, {positionals: 1, valueFlags: ['--name']})
  }

  protected override ownArgv(): string[] {
    return this.split().own
  }

  async run(): Promise<void> {
    const {own, command: withoutDashes = [], passThrough} = this.split()
    const {flags, args, raw} = await this.parse(LabExec, own)
    checkLabName(flags.name)
    if (withoutDashes.length > 0) {
      const named = raw.some((t) => t.type === 'flag' && t.flag === 'name')
      const line = ['xcc', 'lab', 'exec', ...(named ? ['--name', flags.name] : []), ...(flags.json ? ['--json'] : []), args.host, '--', ...withoutDashes]
      throw new XccError(`the command to run in ${args.host} goes after --; run:`, {exitCode: 2, details: [line.map(shellQuote).join(' ')], hint: 'everything after -- reaches the command unchanged, its flags included'})
    }
    // oclif's raw tokens keep the command line's order (its argv does not): the host, then any words before `--`
    const words = raw.filter((t) => t.type === 'arg').map((t) => t.input).slice(1)
    if (words.length > 0) throw new XccError(`unexpected ${words.join(' ')} before --`, {exitCode: 2, hint: USAGE})
    if (!passThrough || passThrough.length === 0) throw new XccError('no command to run', {exitCode: 2, hint: USAGE})
    process.exitCode = await runLabExec(flags.name, args.host, passThrough)
  }
}
