/**
 * Golden files for rendered output. `UPDATE_GOLDEN=1 npm run test:unit` rewrites them; review the
 * diff before committing. JSON is compared semantically, text exactly.
 */
import assert from 'node:assert/strict'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const GOLDEN_DIR = fileURLToPath(new URL('../golden/', import.meta.url))
const update = process.env.UPDATE_GOLDEN === '1'

function golden(name: string, actual: string): string {
  const path = join(GOLDEN_DIR, name)
  if (update || !existsSync(path)) {
    if (!update) assert.fail(`golden file ${name} is missing; run UPDATE_GOLDEN=1 npm run test:unit and review it`)
    mkdirSync(dirname(path), {recursive: true})
    writeFileSync(path, actual)
  }
  return readFileSync(path, 'utf8')
}

export function assertGoldenJson(name: string, actual: unknown): void {
  const text = `${JSON.stringify(actual, null, 2)}\n`
  assert.deepEqual(actual, JSON.parse(golden(name, text)), `${name} differs from its golden file`)
}

export function assertGoldenText(name: string, actual: string): void {
  assert.equal(actual, golden(name, actual), `${name} differs from its golden file`)
}
