import {spawn} from 'node:child_process'
import {constants} from 'node:os'

import {Args, Flags} from '@oclif/core'

import {splitAtDoubleDash} from '../../cli/argv.js'
import {XccCommand} from '../../cli/base-command.js'
import {XccError} from '../../core/errors.js'
import {checkLabName} from '../../lab/lifecycle.js'
import {DEFAULT_LAB_NAME} from '../../lab/plan/names.js'
import {LAB_BASE_TOOLS, preflight} from '../../lab/runtime/preflight.js'
import {ownedElsewhere} from '../../lab/runtime/owner.js'
import {labDir, readState, xccHome} from '../../lab/runtime/state.js'

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
    // root first: without it the state is unreadable and `ip netns exec` impossible, whatever else is wrong
    preflight(LAB_BASE_TOOLS)
    const state = readState(labDir(flags.name))
    // the namespaces of this name may belong to a live lab of another XCC_HOME: never enter them from here
    const elsewhere = ownedElsewhere(flags.name, labDir(flags.name))
    if (elsewhere) {
      throw new XccError(state ? `lab ${flags.name} of this XCC_HOME is stale: its name is in use by the running lab of XCC_HOME ${elsewhere}` : `no lab named ${flags.name} under XCC_HOME ${xccHome()}; a lab ${flags.name} runs under XCC_HOME ${elsewhere}`, {
        exitCode: 2, hint: `XCC_HOME=${elsewhere} xcc lab exec --name ${flags.name} …`,
      })
    }
    if (!state) throw new XccError(`no lab named ${flags.name}`, {exitCode: 2, hint: 'xcc lab up --scenario list'})
    const host = state.plan.hosts[args.host]
    if (!host) {
      const known = Object.keys(state.plan.hosts)
      throw new XccError(`lab ${flags.name} has no host ${args.host}`, {exitCode: 2, details: [`hosts: ${known.slice(0, 12).join(', ')}${known.length > 12 ? `, … (${known.length})` : ''}`]})
    }
    const code = await new Promise<number>((resolve) => {
      const child = spawn('ip', ['netns', 'exec', host.ns, ...command], {stdio: 'inherit'})
      child.once('error', () => resolve(127))
      // as a shell reports it: 128 + the signal's number
      child.once('exit', (c, signal) => resolve(c ?? (signal ? 128 + constants.signals[signal] : 1)))
    })
    process.exitCode = code
  }
}
