/**
 * The README and docs/ point only inside the repository (or to public http(s) pages): every
 * relative link resolves to a file of the repository, every #anchor to a heading of its page, and
 * the README names no path outside the repository (a clone or the npm package holds nothing else).
 */
import assert from 'node:assert/strict'
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {fencedBlocks} from './markdown.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]

/** Markdown text without its code blocks, whose brackets are not links. */
function prose(markdown: string): string {
  let out = markdown
  for (const block of fencedBlocks(markdown)) out = out.replace(block.text, '')
  return out
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const m of prose(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = (m[1] as string).toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')
    const n = seen.get(slug) ?? 0
    seen.set(slug, n + 1)
    out.add(n === 0 ? slug : `${slug}-${n}`)
  }
  return out
}

function links(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string)
}

describe('links of the README and docs/', () => {
  for (const page of PAGES) {
    it(`${page}: relative links and anchors resolve inside the repository`, () => {
      const text = readFileSync(join(ROOT, page), 'utf8')
      const broken: string[] = []
      for (const target of links(text)) {
        if (/^(https?|mailto):/.test(target)) continue
        const [path = '', anchor] = target.split('#')
        const file = path === '' ? join(ROOT, page) : resolve(ROOT, dirname(page), path)
        if (relative(ROOT, file).startsWith('..') || !existsSync(file)) {
          broken.push(`${target}: no such file in the repository`)
          continue
        }
        if (anchor !== undefined && file.endsWith('.md') && !anchors(readFileSync(file, 'utf8')).has(anchor)) broken.push(`${target}: no such heading`)
      }
      assert.deepEqual(broken, [])
    })
  }

  it('the README names no path outside the repository', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    assert.deepEqual(readme.match(/\.\.\/[\w./-]+/g) ?? [], [])
  })
})
