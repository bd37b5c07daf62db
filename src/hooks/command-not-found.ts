/**
 * An unknown command is a usage error (exit 2, contracts.md §2) like an unknown flag: with --json
 * it is the same one JSON error object on stdout every command prints, else a message on stderr
 * that names the nearest commands.
 */
import type {Hook} from '@oclif/core'

import {JSON_SCHEMA_VERSION} from '../cli/base-command.js'

const hook: Hook<'command_not_found'> = async function (options) {
  const typed = options.id.split(':').join(' ')
  const known = options.config.commandIDs.map((id) => id.split(':').join(' '))
  const near = nearestCommands(typed, known)
  const hint = near.length ? `did you mean ${near.map((c) => `xcc ${c}`).join(' or ')}? See xcc --help` : 'see xcc --help for the commands'
  const message = `unknown command "${typed}"`
  if (options.argv?.includes('--json')) {
    process.stdout.write(`${JSON.stringify({schemaVersion: JSON_SCHEMA_VERSION, error: {kind: 'usage', message, details: [], hint, exitCode: 2}}, null, 2)}\n`)
  } else {
    process.stderr.write(`Error: ${message}\nHint: ${hint}\n`)
  }
  process.exitCode = 2
}

/** commands that share the typed topic or are within a few edits of it */
export function nearestCommands(typed: string, known: readonly string[]): string[] {
  const topic = typed.split(' ')[0] ?? ''
  const byDistance = (candidates: readonly string[]): string[] =>
    candidates.map((k) => ({k, d: editDistance(typed, k)})).sort((a, b) => a.d - b.d || a.k.localeCompare(b.k)).map((x) => x.k)
  const sameTopic = known.filter((k) => k.split(' ')[0] === topic)
  if (sameTopic.length) return byDistance(sameTopic).slice(0, 3)
  return byDistance(known.filter((k) => editDistance(typed, k) <= Math.max(2, Math.floor(typed.length / 3)))).slice(0, 3)
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length] as number
}

export default hook
