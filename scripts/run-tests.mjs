#!/usr/bin/env node
// Runs every test file under test/ with node:test and tsx.
// Node 20's test runner neither finds .ts files nor expands globs, and it exits 0 when it
// ran nothing, so this script lists the files explicitly and fails when it finds none.
import {spawnSync} from 'node:child_process'
import {readdirSync} from 'node:fs'
import {join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

function findTests(dir) {
  const found = []
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) found.push(...findTests(path))
    else if (/\.test\.tsx?$/.test(entry.name)) found.push(relative(root, path))
  }
  return found
}

const filter = process.argv.slice(2)
let files = findTests(join(root, 'test')).sort()
if (filter.length > 0) files = files.filter((f) => filter.some((part) => f.includes(part)))
if (files.length === 0) {
  console.error(`run-tests: no test files found under test/${filter.length ? ` matching ${filter.join(', ')}` : ''}`)
  process.exit(1)
}
console.error(`run-tests: ${files.length} test files`)
// Two files at a time: most lab tests wait on processes and packets rather than on the CPU, and
// each file's labs, namespaces and API servers are its own. XCC_TEST_CONCURRENCY=1 runs one at a time.
const concurrency = Number(process.env.XCC_TEST_CONCURRENCY ?? 2)
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`run-tests: XCC_TEST_CONCURRENCY must be a whole number of at least 1, not ${process.env.XCC_TEST_CONCURRENCY}`)
  process.exit(2)
}
console.error(`run-tests: ${concurrency} file(s) at a time`)
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files], {cwd: root, stdio: 'inherit'})
process.exit(result.status ?? 1)
