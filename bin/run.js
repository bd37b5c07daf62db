#!/usr/bin/env node
// Production entry point: runs the compiled commands in dist/ with the shipped manifest.
import {execute} from '@oclif/core'

// `xcc … | head` closes the pipe early: stop quietly instead of crashing on EPIPE.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw error
})

await execute({dir: import.meta.url})
