/**
 * An unknown command is a usage error (exit 2, contracts.md §2) like an unknown flag: with --json
 * it is the same one JSON error object on stdout every command prints, else a message on stderr
 * that names the nearest commands.
 */
import type {Hook} from '@oclif/core'

import {JSON_SCHEMA_VERSION} from '../cli/base-command.js'
import {nearestCommands} from '../cli/suggest.js'

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

export default hook
