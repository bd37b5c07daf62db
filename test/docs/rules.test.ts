/**
 * docs/rules.md defines every rule id the project cites (SNAT-06, ROUTE-12, …), each with a public
 * source. A rule cited in code but defined nowhere is a claim nobody can check, so this fails on
 * any id cited under src/ or templates/ (and in tests, the README and the other docs) that
 * rules.md lacks, and on any rule there without a source link.
 */
import assert from 'node:assert/strict'
import {readFileSync, readdirSync} from 'node:fs'
import {join, relative} from 'node:path'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const RULES = 'docs/rules.md'
/** the ids this file itself uses as samples are not citations */
const SELF = relative(ROOT, fileURLToPath(import.meta.url))
const RULE_ID = /\b[A-Z]{2,6}-\d{2}\b/g
const RULE_HEADING = /^### ([A-Z]{2,6}-\d{2})$/
const LINK = /\]\(https?:\/\/[^)\s]+\)/

interface RuleSection {
  readonly id: string
  readonly line: number
  /** the `## ` family heading the rule sits under */
  readonly family?: string
  readonly body: string
}

/** The `### ID` sections of a rules page, with their text up to the next heading. */
function ruleSections(markdown: string): RuleSection[] {
  const sections: RuleSection[] = []
  let family: string | undefined
  let current: {id: string; line: number; family?: string; body: string[]} | undefined
  const close = (): void => {
    if (current) sections.push({...current, body: current.body.join('\n')})
    current = undefined
  }
  markdown.split('\n').forEach((text, i) => {
    if (/^#{1,3} /.test(text)) close()
    if (text.startsWith('## ')) family = text.slice(3)
    const m = RULE_HEADING.exec(text)
    if (m) current = {id: m[1] as string, line: i + 1, family, body: []}
    else current?.body.push(text)
  })
  close()
  return sections
}

/** Problems of a rules page: headings that are not ids, repeated ids, rules outside their family, rules without a source link. */
function sectionProblems(sections: readonly RuleSection[]): string[] {
  const problems: string[] = []
  const seen = new Set<string>()
  for (const s of sections) {
    if (seen.has(s.id)) problems.push(`${s.id} (line ${s.line}) is defined twice`)
    seen.add(s.id)
    const prefix = s.id.slice(0, s.id.indexOf('-'))
    if (!s.family?.startsWith(`${prefix} `)) problems.push(`${s.id} (line ${s.line}) is not under a "## ${prefix} — …" heading`)
    const source = s.body.split('\n').findIndex((l) => l.startsWith('Source:'))
    const sourceText = source < 0 ? '' : s.body.split('\n').slice(source).join('\n')
    if (!LINK.test(sourceText)) problems.push(`${s.id} (line ${s.line}) has no "Source:" line with an http(s) link`)
    const statement = s.body.split('\n').slice(0, source < 0 ? undefined : source).join(' ').trim()
    if (statement === '') problems.push(`${s.id} (line ${s.line}) has no statement`)
  }
  return problems
}

/** id → the files citing it, for every id in `files` (path → text) that `defined` lacks. */
function undefinedCitations(files: ReadonlyMap<string, string>, defined: ReadonlySet<string>): Map<string, string[]> {
  const missing = new Map<string, string[]>()
  for (const [path, text] of files) {
    for (const id of new Set(text.match(RULE_ID) ?? [])) {
      if (defined.has(id)) continue
      missing.set(id, [...(missing.get(id) ?? []), path])
    }
  }
  return missing
}

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), {withFileTypes: true}).flatMap((entry) => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? filesUnder(path) : [path]
  })
}

/** Everything that may cite a rule: the code (src/, templates/), the tests, the README and the other docs. */
function citingFiles(): Map<string, string> {
  const paths = [...filesUnder('src'), ...filesUnder('templates'), ...filesUnder('test'), 'README.md', ...filesUnder('docs')]
  return new Map(paths.filter((p) => p !== RULES && p !== SELF).map((p) => [p, readFileSync(join(ROOT, p), 'utf8')]))
}

const sections = ruleSections(readFileSync(join(ROOT, RULES), 'utf8'))
const defined = new Set(sections.map((s) => s.id))

describe('docs/rules.md', () => {
  it('defines rules (the extraction found them)', () => {
    assert.ok(sections.length >= 60, `found ${sections.length} rules`)
  })

  it('gives every rule a statement and a source link, once, under its family', () => {
    assert.deepEqual(sectionProblems(sections), [])
  })

  it('defines every rule id cited in src/, templates/, test/, README.md and docs/', () => {
    const files = citingFiles()
    assert.ok([...files.keys()].some((p) => p.startsWith('src/')) && [...files.keys()].some((p) => p.startsWith('templates/')), 'src/ and templates/ were scanned')
    const missing = [...undefinedCitations(files, defined)].map(([id, where]) => `${id}: cited in ${where.join(', ')}`)
    assert.deepEqual(missing, [], `define these in ${RULES}`)
  })

  it('the checks catch an undefined id and a rule without a source (so they can fail)', () => {
    assert.deepEqual([...undefinedCitations(new Map([['src/x.ts', '// see SNAT-06 and ZZZ-99']]), defined)], [['ZZZ-99', ['src/x.ts']]])
    const page = '## ZZZ — sample\n\n### ZZZ-01\n\nA statement.\n\nSource: none given\n\n### ZZZ-02\n\nAnother.\n\nSource: [a page](https://example.org/a)\n'
    assert.deepEqual(sectionProblems(ruleSections(page)), ['ZZZ-01 (line 3) has no "Source:" line with an http(s) link'])
  })
})
