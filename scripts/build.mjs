#!/usr/bin/env node
// The build (`npm run build`, and `prepare` on `npm ci` and `npm link`): compiles src/ to dist/,
// writes the oclif manifest and stores the help texts (build-help.mjs). It ends by writing
// dist/.build-stamp, a hash of everything the build reads; when the stamp matches the sources
// the build has nothing to do and says so, so `npm ci && npm link` builds once, not twice.
// `npm run build -- --force` (or XCC_BUILD_FORCE=1) rebuilds anyway; `--check` only says (exit 0
// or 1) whether dist/ is built from the current sources.
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const STAMP = join(root, 'dist', '.build-stamp')
// what the build reads: the sources, what compiles them (config, locked dependencies), the help capture
const INPUTS = ['src', 'templates', 'bin', 'scripts/build.mjs', 'scripts/build-help.mjs', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']
// what the build writes, beyond the stamp
const OUTPUTS = ['dist/commands', 'dist/help/help.json', 'oclif.manifest.json']

function inputFiles() {
  const found = []
  for (const path of INPUTS) {
    const full = join(root, path)
    if (!existsSync(full)) continue
    if (!statSync(full).isDirectory()) found.push(path)
    else for (const e of readdirSync(full, {recursive: true, withFileTypes: true})) if (e.isFile()) found.push(relative(root, join(e.parentPath ?? e.path, e.name)))
  }
  return found.sort()
}

/** sha256 over the path and content of every input file */
function sourceHash() {
  const hash = createHash('sha256')
  for (const file of inputFiles()) hash.update(`${file}\0`).update(readFileSync(join(root, file))).update('\0')
  return hash.digest('hex')
}

function run(command, args) {
  const r = spawnSync(command, args, {cwd: root, stdio: 'inherit'})
  if (r.status !== 0) process.exit(r.status ?? 1)
}

const force = process.argv.includes('--force') || (process.env.XCC_BUILD_FORCE ?? '') !== ''
const hash = sourceHash()
const stamp = existsSync(STAMP) ? readFileSync(STAMP, 'utf8').trim() : ''
const upToDate = stamp === hash && OUTPUTS.every((p) => existsSync(join(root, p)))
if (process.argv.includes('--check')) {
  // for the tests: is dist/ built from exactly these sources?
  console.error(upToDate ? `build: dist/ is up to date with the sources (${hash.slice(0, 12)})` : 'build: dist/ is not built from the current sources: run npm run build')
  process.exit(upToDate ? 0 : 1)
}
if (!force && upToDate) {
  console.error(`build: dist/ is up to date with the sources (${hash.slice(0, 12)}); npm run build -- --force rebuilds`)
  process.exit(0)
}
rmSync(join(root, 'dist'), {recursive: true, force: true})
const bin = (name) => join(root, 'node_modules', '.bin', name)
run(bin('tsc'), ['-p', 'tsconfig.build.json'])
run(bin('oclif'), ['manifest'])
run(process.execPath, [join(root, 'scripts', 'build-help.mjs')])
// last, so that an interrupted build leaves no stamp
writeFileSync(STAMP, `${hash}\n`)
console.error(`build: built dist/ from the sources (${hash.slice(0, 12)})`)
