#!/usr/bin/env node
// Production entry point: runs the compiled commands in dist/ with the shipped manifest.
import {readFileSync} from 'node:fs'

import {keepRunningWhenPipesClose} from './closed-pipes.js'

// `xcc … | head` closes the pipe early: stop writing to it, finish the work, exit with its own code.
keepRunningWhenPipesClose()

// Start-up fast paths: `--version` and `<command> --help` printed to a pipe need no oclif (~90 ms).
// The help texts are oclif's own output, stored by the build (scripts/build-help.mjs).
const args = process.argv.slice(2)
if (!process.env.XCC_NO_FAST_PATH && answerWithoutOclif(args)) process.exit(0)

const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
// The command is over: a request it gave up on (an API that accepted and stayed silent past
// --timeout) must not keep the process alive. Exit once what was written has been flushed.
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write('', resolve))))
process.exit()

function answerWithoutOclif(argv) {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
    const {version} = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
    process.stdout.write(`xcc/${version} ${process.platform}-${process.arch} node-${process.version}\n`)
    return true
  }
  const last = argv[argv.length - 1]
  if (last !== '--help' || process.stdout.isTTY || process.env.OCLIF_COLUMNS) return false
  const words = argv.slice(0, -1)
  if (words.some((w) => w.startsWith('-'))) return false
  let texts
  try {
    texts = JSON.parse(readFileSync(new URL('../dist/help/help.json', import.meta.url), 'utf8'))
  } catch {
    return false
  }
  const text = texts[words.join(':')]
  if (text === undefined) return false
  process.stdout.write(text)
  return true
}
