#!/usr/bin/env node
// Build step: asks the real CLI (oclif) for the help of every command, as printed to a pipe
// (80 columns), and stores it in dist/help/, so bin/run.js can answer `--help` and `--version`
// without loading oclif (~90 ms of start-up). The texts are oclif's own output, byte for byte.
import {spawnSync} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8'))
const env = {...process.env, XCC_NO_FAST_PATH: '1'}
delete env.OCLIF_COLUMNS
const out = join(root, 'dist', 'help')
mkdirSync(out, {recursive: true})

function capture(args) {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'run.js'), ...args], {cwd: root, env, encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`xcc ${args.join(' ')} failed (${r.status}): ${r.stderr}`)
  return r.stdout
}

const ids = Object.keys(manifest.commands)
const texts = {'': capture(['--help'])}
for (const id of ids) texts[id] = capture([...id.split(':'), '--help'])
writeFileSync(join(out, 'help.json'), JSON.stringify(texts))
console.error(`build-help: stored the help of ${ids.length} command(s) and the root`)
