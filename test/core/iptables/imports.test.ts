/**
 * The iptables modules form no import cycle, type-only imports included: a cycle makes the load
 * order of the modules matter and ties files together that should change independently.
 */
import assert from 'node:assert/strict'
import {readFileSync, readdirSync} from 'node:fs'
import {describe, it} from 'node:test'

const DIR = new URL('../../../src/core/iptables/', import.meta.url)

function importsOf(file: string): string[] {
  const text = readFileSync(new URL(file, DIR), 'utf8')
  const found = [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'\.\/([^']+)\.js'/gm)].map((m) => `${m[1]}.ts`)
  return [...new Set(found)]
}

function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const done = new Set<string>()
  const path: string[] = []
  const visit = (file: string): string[] | undefined => {
    const at = path.indexOf(file)
    if (at >= 0) return [...path.slice(at), file]
    if (done.has(file)) return undefined
    path.push(file)
    for (const next of graph.get(file) ?? []) {
      const cycle = visit(next)
      if (cycle) return cycle
    }
    path.pop()
    done.add(file)
    return undefined
  }
  for (const file of graph.keys()) {
    const cycle = visit(file)
    if (cycle) return cycle
  }
  return undefined
}

describe('the iptables modules', () => {
  it('import one another without a cycle, counting type-only imports', () => {
    const files = readdirSync(DIR).filter((name) => name.endsWith('.ts'))
    const graph = new Map(files.map((file) => [file, importsOf(file).filter((dep) => files.includes(dep))]))
    assert.ok(graph.get('compile-rule.ts')?.includes('compile-matches.ts'), 'the scan sees the imports')
    const cycle = findCycle(graph)
    assert.equal(cycle, undefined, `import cycle: ${cycle?.join(' → ')}`)
  })
})
