/**
 * The built-in lab scenarios: templates/scenarios/<name>.yaml, each a Topology reproducing a seed,
 * with the flow it is about in a `# flow:` comment (the topology schema is strict, and the flow is
 * not part of the network).
 */
import {readFileSync, readdirSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import yaml from 'js-yaml'

import {XccError} from '../../core/errors.js'

const DIR = fileURLToPath(new URL('../../../templates/scenarios/', import.meta.url))

export interface ScenarioInfo {
  readonly name: string
  readonly description: string
  readonly path: string
}

export function listScenarios(): ScenarioInfo[] {
  return readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort().map((file) => {
    const path = `${DIR}${file}`
    const doc = yaml.load(readFileSync(path, 'utf8')) as {metadata?: {description?: string}} | undefined
    return {name: file.replace(/\.yaml$/, ''), description: doc?.metadata?.description ?? '', path}
  })
}

/** The flow a topology is about, from its `# flow: --from <source> --to <destination>` comment line. */
export interface Flow {
  readonly from: string
  readonly to: string
}

export function canonicalFlow(topologyText: string): Flow | undefined {
  const match = /^# flow: --from (\S+) --to (\S+)[ \t]*$/m.exec(topologyText)
  return match ? {from: match[1] as string, to: match[2] as string} : undefined
}

export function scenarioPath(name: string): string {
  const all = listScenarios()
  const found = all.find((s) => s.name === name)
  if (found) return found.path
  const containing = all.filter((s) => s.name.includes(name))
  const close = containing.length ? containing : all.filter((s) => s.name.split('-')[0] === name.split('-')[0])
  throw new XccError(`--scenario ${name}: no such scenario`, {
    exitCode: 2,
    details: [`built-in scenarios: ${all.map((s) => s.name).join(', ')}`],
    hint: close.length ? `did you mean ${close.map((s) => s.name).join(' or ')}? (xcc lab up --scenario list)` : 'xcc lab up --scenario list shows them',
  })
}
