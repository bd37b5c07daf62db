#!/usr/bin/env -S node --import tsx --no-warnings
// Development entry point: runs the TypeScript sources directly through tsx.
import {execute} from '@oclif/core'

import {keepRunningWhenPipesClose} from './closed-pipes.js'

// `xcc … | head` closes the pipe early: stop writing to it, finish the work, exit with its own code.
keepRunningWhenPipesClose()

await execute({development: true, dir: import.meta.url})
