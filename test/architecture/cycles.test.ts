/**
 * No source file is part of an import cycle, type-only imports included: a cycle makes the load
 * order of modules matter and ties together files that should change independently.
 */
import assert from 'node:assert/strict'
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {dirname, join, normalize, relative} from 'node:path'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SRC = join(ROOT, 'src')

function sources(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : []))
}

/** the source files a file imports (static, re-exports and dynamic imports), resolved */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specs = [...text.matchAll(/(?:^(?:import|export)\s[^;]*?from\s+|import\(\s*)'(\.{1,2}\/[^']+)'/gm)].map((m) => m[1] as string)
  return specs.flatMap((spec) => {
    const base = normalize(join(dirname(file), spec)).replace(/\.js$/, '')
    const found = [`${base}.ts`, `${base}.tsx`, join(base, 'index.ts')].find((c) => existsSync(c))
    return found ? [found] : []
  })
}

/** every cycle's files, as strongly connected components (Tarjan) */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (v: string): void => {
    index.set(v, next)
    low.set(v, next)
    next += 1
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number))
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = []
      let w: string
      do {
        w = stack.pop() as string
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component)
    }
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return found
}

describe('imports', () => {
  const files = sources(SRC)
  const graph = new Map(files.map((f) => [f, importsOf(f)]))

  it('are read by the scan (a sanity check: it sees imports across folders)', () => {
    assert.ok(graph.get(join(SRC, 'app/doctor.ts'))?.includes(join(SRC, 'checks/index.ts')))
    assert.deepEqual(cycles(new Map([['a', ['b']], ['b', ['a']], ['c', []]])), [['b', 'a']], 'and finds a cycle where there is one')
  })

  it('form no cycle, type-only imports included', () => {
    assert.deepEqual(cycles(graph).map((c) => c.map((f) => relative(ROOT, f)).sort()), [])
  })
})
