/**
 * `--merge`: a new cluster, user and context added to an existing kubeconfig the way kubectl
 * would keep it. What is there stays byte for byte: the new list items are inserted as text at
 * the end of their lists (in the file's own list indentation), and the result is parsed back and
 * compared with the intended document; only a file that cannot be edited so (JSON, flow-style
 * lists, a replaced entry under --force) is written again whole. `current-context` changes only
 * with `--use-context`; a name the file already uses is refused unless `--force` replaces it.
 */
import {isDeepStrictEqual} from 'node:util'

import {load} from 'js-yaml'

import {XccError} from '../errors.js'
import {type KubeconfigEntry, type NamedEntries, namedEntries, toYaml} from './document.js'

const LISTS = ['clusters', 'contexts', 'users'] as const
type ListKey = (typeof LISTS)[number]
const ITEM: Record<ListKey, keyof NamedEntries> = {clusters: 'cluster', contexts: 'context', users: 'user'}

export interface MergeResult {
  readonly text: string
  /** entries --force replaced: `context x`, `user x` */
  readonly replaced: readonly string[]
  /** whether the existing text was kept as it was, the entries added around it */
  readonly preserved: boolean
  readonly currentContext?: string
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** the intended document: the entries added (or replacing those of the same name) */
function mergedDocument(existing: Record<string, unknown>, named: NamedEntries, name: string, useContext: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {...existing}
  for (const key of LISTS) {
    const list = Array.isArray(existing[key]) ? (existing[key] as unknown[]) : []
    const at = list.findIndex((item) => isMapping(item) && item.name === name)
    out[key] = at >= 0 ? list.map((item, i) => (i === at ? named[ITEM[key]] : item)) : [...list, named[ITEM[key]]]
  }
  if (useContext) out['current-context'] = name
  if (out.apiVersion === undefined) out.apiVersion = 'v1'
  if (out.kind === undefined) out.kind = 'Config'
  return out
}

/** the lines of a list's items as `- …` in the given indentation */
function itemLines(item: unknown, indent: string): string[] {
  return toYaml([item]).replace(/\n$/, '').split('\n').map((l) => `${indent}${l}`)
}

/** inserts the items as text; undefined when the file's shape does not allow it */
function insertAsText(text: string, named: NamedEntries, name: string, useContext: boolean): string | undefined {
  if (text.includes('\r')) return undefined
  const lines = text.replace(/\n$/, '').split('\n')
  for (const key of LISTS) {
    const i = lines.findIndex((l) => new RegExp(`^${key}:(\\s.*)?$`).test(l))
    const item = named[ITEM[key]]
    if (i < 0) {
      lines.push(`${key}:`, ...itemLines(item, ''))
      continue
    }
    const rest = (lines[i] as string).slice(key.length + 1).replace(/\s+#.*$/, '').trim()
    if (rest !== '' && rest !== '[]' && rest !== 'null' && rest !== '~') return undefined
    if (rest !== '') lines[i] = `${key}:`
    let end = i + 1
    while (end < lines.length && (lines[end] === '' || /^[\s#-]/.test(lines[end] as string))) end += 1
    while (end > i + 1 && (lines[end - 1] as string).trim() === '') end -= 1
    const first = lines.slice(i + 1, end).find((l) => /^\s*- /.test(l) || /^\s*-$/.test(l))
    const indent = first ? (/^(\s*)-/.exec(first)?.[1] ?? '') : ''
    lines.splice(end, 0, ...itemLines(item, indent))
  }
  if (useContext) {
    const line = toYaml({'current-context': name}).replace(/\n$/, '')
    const at = lines.findIndex((l) => /^current-context:(\s.*)?$/.test(l))
    if (at >= 0) lines[at] = line
    else lines.push(line)
  }
  return `${lines.join('\n')}\n`
}

/** `existing`: the file's text, undefined when it does not exist yet */
export function mergeKubeconfig(existing: string | undefined, entry: KubeconfigEntry, options: {force: boolean; useContext: boolean; path: string}): MergeResult {
  const name = entry.context
  const named = namedEntries(entry)
  let document: unknown
  try {
    document = existing === undefined ? undefined : load(existing)
  } catch (error) {
    throw new XccError(`kubeconfig ${options.path} is not valid YAML: ${(error as {reason?: string}).reason ?? 'unparsable'}`, {exitCode: 2, hint: 'fix it, or write the new kubeconfig to a file of its own with -o FILE'})
  }
  if (document === undefined || document === null) {
    const fresh = mergedDocument({apiVersion: 'v1', kind: 'Config', preferences: {}}, named, name, options.useContext)
    const ordered = {apiVersion: 'v1', clusters: fresh.clusters, contexts: fresh.contexts, ...(options.useContext ? {'current-context': name} : {}), kind: 'Config', preferences: {}, users: fresh.users}
    return {text: toYaml(ordered), replaced: [], preserved: existing === undefined || existing.trim() === '', ...(options.useContext ? {currentContext: name} : {})}
  }
  if (!isMapping(document)) throw new XccError(`kubeconfig ${options.path} is not a kubeconfig: expected a mapping with clusters, users and contexts`, {exitCode: 2})
  const taken: string[] = []
  for (const key of LISTS) {
    const list = document[key]
    if (list !== undefined && list !== null && !Array.isArray(list)) throw new XccError(`kubeconfig ${options.path}: ${key} is not a list`, {exitCode: 2})
    if (Array.isArray(list) && list.some((item) => isMapping(item) && item.name === name)) taken.push(`${ITEM[key]} "${name}"`)
  }
  if (taken.length > 0 && !options.force) {
    throw new XccError(`kubeconfig ${options.path} already has ${taken.join(', ')}`, {exitCode: 2, hint: '--force replaces them, --context-name NAME picks another name'})
  }
  const intended = mergedDocument(document, named, name, options.useContext)
  const current = typeof intended['current-context'] === 'string' && intended['current-context'] !== '' ? intended['current-context'] : undefined
  const result = {replaced: taken, ...(current ? {currentContext: current} : {})}
  if (taken.length === 0 && existing !== undefined) {
    const edited = insertAsText(existing, named, name, options.useContext)
    if (edited !== undefined) {
      let reread: unknown
      try {
        reread = load(edited)
      } catch {
        reread = undefined
      }
      if (isDeepStrictEqual(reread, intended)) return {text: edited, preserved: true, ...result}
    }
  }
  return {text: toYaml(intended), preserved: false, ...result}
}
