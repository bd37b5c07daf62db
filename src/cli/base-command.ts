/**
 * Shared behaviour of every xcc command: `--json` (versioned, stdout only JSON), exit codes per
 * contracts.md §2, user errors without stack traces, bugs with a stack and exit 4.
 * oclif's own enableJsonFlag is not used: a parse error with it dumps the config (ecosystem.md).
 */
import {Command, Errors, Flags} from '@oclif/core'

import {InterruptedError, XccError} from '../core/errors.js'
import {splitAtDoubleDash} from './argv.js'
import {type FlagSpec, nearestFlag} from './suggest.js'
import {colorEnabled, safeText} from '../render/terminal.js'

export const JSON_SCHEMA_VERSION = 1

export abstract class XccCommand extends Command {
  static override baseFlags = {
    json: Flags.boolean({description: 'Print one JSON object on stdout (schemaVersion 1) instead of text.', default: false}),
  }

  /** the words of the command line that are xcc's: after `--` they belong to another program (lab exec) */
  protected ownArgv(): string[] {
    return splitAtDoubleDash(this.argv).own
  }

  /** `--json` among the command's own flags */
  protected get wantsJson(): boolean {
    return this.ownArgv().includes('--json')
  }

  /** colours for a stream: only on a TTY and never with NO_COLOR */
  protected color(stream: NodeJS.WriteStream = process.stdout): boolean {
    return colorEnabled({isTTY: Boolean(stream.isTTY), env: process.env})
  }

  protected printJson(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
  }

  protected override async catch(error: Error & {oclif?: {exit?: number}}): Promise<void> {
    if (error instanceof Errors.ExitError) throw error
    const {exitCode, kind, lines, hint, stack} = classify(error, `xcc ${this.id?.split(':').join(' ') ?? ''}`.trim())
    if (this.wantsJson) {
      this.printJson({schemaVersion: JSON_SCHEMA_VERSION, error: {kind, message: lines[0], details: lines.slice(1), ...(hint ? {hint} : {}), exitCode}})
    } else {
      // names in messages come from files and APIs: shown with their control characters escaped
      const out = [`Error: ${safeText(lines[0] ?? '')}`, ...lines.slice(1).map((l) => `  ${safeText(l)}`)]
      if (hint) out.push(`Hint: ${safeText(hint)}`)
      if (stack) out.push('', stack, '', 'This is a bug in xcc. Please report it with the command you ran and the output above.')
      process.stderr.write(`${out.join('\n')}\n`)
    }
    process.exitCode = exitCode
  }
}

export interface Classified {
  exitCode: 2 | 3 | 4 | 130
  kind: 'usage' | 'environment' | 'bug' | 'interrupted'
  lines: string[]
  hint?: string
  stack?: string
}

/** oclif's error for unknown flags (not exported by @oclif/core): the flags as typed and the definitions it parsed against */
interface NonExistentFlags {
  flags: string[]
  parse?: {input?: {flags?: Record<string, FlagSpec>}}
}

function isNonExistentFlags(error: unknown): error is Errors.CLIError & NonExistentFlags {
  return error instanceof Errors.CLIError && Array.isArray((error as Partial<NonExistentFlags>).flags) && /^Nonexistent flags?: /.test(error.message)
}

/** `did you mean --topology?` for each mistyped flag that has a near neighbour */
function unknownFlags(error: NonExistentFlags, command: string): Classified {
  const known = Object.values(error.parse?.input?.flags ?? {})
  const near = error.flags.map((typed) => ({typed, near: nearestFlag(typed, [...known, {name: 'help'}])})).filter((x) => x.near !== undefined)
  const help = `See ${command} --help`
  const hint = near.length === 0 ? `see ${command} --help for its flags`
    : near.length === 1 && error.flags.length === 1 ? `did you mean ${near[0]?.near}? ${help}`
    : `did you mean ${near.map((x) => `${x.near} (for ${x.typed})`).join(', ')}? ${help}`
  return {exitCode: 2, kind: 'usage', lines: [`Nonexistent flag${error.flags.length === 1 ? '' : 's'}: ${error.flags.join(', ')}`], hint}
}

/** user errors → 2 or 3 without a stack; anything unexpected → 4 with its stack (design.md habit 10) */
export function classify(error: Error & {oclif?: {exit?: number}}, command = 'xcc'): Classified {
  if (error instanceof InterruptedError) {
    return {exitCode: 130, kind: 'interrupted', lines: [error.message === 'interrupted' ? 'interrupted: the pods of this run were removed' : error.message]}
  }
  if (error instanceof XccError) {
    return {exitCode: error.exitCode, kind: error.exitCode === 3 ? 'environment' : 'usage', lines: [error.message, ...error.details], ...(error.hint ? {hint: error.hint} : {})}
  }
  if (isNonExistentFlags(error)) return unknownFlags(error, command)
  // oclif's parser errors (unknown flag, missing flag, bad value) are usage errors.
  if (error instanceof Errors.CLIError) {
    return {exitCode: 2, kind: 'usage', lines: error.message.split('\n').filter(Boolean), hint: 'see --help for the usage'}
  }
  return {exitCode: 4, kind: 'bug', lines: [error.message || String(error)], stack: error.stack}
}

