/**
 * `xcc dns link` on a CoreDNS cluster: one server block for the link's zone, between marker
 * comments that carry the link's identity, appended to the Corefile; every other byte is kept.
 *
 *     # xcc:begin dns-link <cluster> <domain>
 *     <cluster>.<domain>:53 {
 *         errors
 *         cache 30
 *         forward . <responder address>
 *     }
 *     # xcc:end
 *
 * Linking again replaces the block in place (the same text: no change); unlinking removes it and
 * gives back the exact bytes the Corefile had before (a file without a final newline got one
 * before the block, and loses it again). CoreDNS refuses to start on a zone:port served twice, and
 * the longest zone wins, so a block of someone else's for the zone, under it, or anywhere in xcc's
 * domain is refused, naming it.
 */
import {XccError} from '../errors.js'
import {type Corefile, type ServerBlock, describeBlock, parseCorefile} from './corefile.js'
import {isWithin} from './domain.js'

export const BEGIN_MARKER = '# xcc:begin dns-link'
export const END_MARKER = '# xcc:end'

export interface XccBlock {
  readonly cluster: string
  readonly domain: string
  /** offsets of the begin marker line and just after the end marker line (its newline included) */
  readonly start: number
  readonly end: number
  /** the text between the markers */
  readonly body: string
}

export interface LinkBlock {
  /** the linked cluster's DNS label and the domain: the block's identity */
  readonly cluster: string
  readonly domain: string
  /** `<cluster>.<domain>` */
  readonly zone: string
  /** where the zone's queries go: the responder's address(es), `IP` or `IP:port` */
  readonly targets: readonly string[]
}

export interface CorefileEdit {
  readonly text: string
  readonly changed: boolean
  readonly action: 'add' | 'replace' | 'remove' | 'none'
}

/** an extra file the Corefile imports (a `coredns-custom` key), checked for conflicts too */
export interface ImportedFile {
  readonly name: string
  readonly text: string
}

/** the xcc blocks of a Corefile, in file order; a begin marker without its end is bad input */
export function xccBlocks(text: string, where: string): XccBlock[] {
  const out: XccBlock[] = []
  const re = /^[ \t]*# xcc:begin dns-link ([^\s]+) ([^\s]+)[ \t]*\r?$/gm
  let m: RegExpExecArray | null
  while ((m = re.exec(text))) {
    const start = m.index
    const afterBegin = text.indexOf('\n', start)
    const bodyStart = afterBegin === -1 ? text.length : afterBegin + 1
    const endRe = /^[ \t]*# xcc:(end|begin)\b.*$/gm
    endRe.lastIndex = bodyStart
    const e = endRe.exec(text)
    if (!e || e[1] !== 'end') {
      const line = text.slice(0, start).split('\n').length
      throw new XccError(`${where}: line ${line}: xcc's block for ${m[1]} ${m[2]} has no "${END_MARKER}" line after it`, {hint: 'someone edited the markers; put the end marker back after the block (or remove the block and its begin marker) and run again'})
    }
    const nl = text.indexOf('\n', e.index)
    out.push({cluster: m[1] as string, domain: m[2] as string, start, end: nl === -1 ? text.length : nl + 1, body: text.slice(bodyStart, e.index)})
    re.lastIndex = nl === -1 ? text.length : nl + 1
  }
  return out
}

/** the block's text, markers included, with the file's line ending */
export function renderLinkBlock(link: LinkBlock, eol = '\n', indent = '    '): string {
  return [
    `${BEGIN_MARKER} ${link.cluster} ${link.domain}`,
    `${link.zone}:53 {`,
    `${indent}errors`,
    `${indent}cache 30`,
    `${indent}forward . ${link.targets.join(' ')}`,
    '}',
    END_MARKER,
  ].join(eol) + eol
}

const inside = (block: ServerBlock, ranges: readonly XccBlock[]): boolean => ranges.some((r) => block.start >= r.start && block.start < r.end)

/** blocks of others that serve the domain's names on port 53 (or on a port not known here) */
function conflicts(corefile: Corefile, ranges: readonly XccBlock[], domain: string, zone: string): {block: ServerBlock; key: string}[] {
  return corefile.servers.filter((s) => !inside(s, ranges)).flatMap((block) => block.keys
    .filter((k) => k.scheme === 'dns' && (k.port === 53 || k.port === undefined) && k.zone !== '.' && (isWithin(k.zone, domain) || isWithin(k.zone, zone)))
    .map((k) => ({block, key: k.raw})))
}

/** refuses when a block xcc does not own already serves names of the link's domain */
export function checkNoConflict(corefile: Corefile, where: string, link: LinkBlock, imported: readonly ImportedFile[] = []): void {
  const found: string[] = []
  const ranges = xccBlocks(corefile.text, where)
  for (const c of conflicts(corefile, ranges, link.domain, link.zone)) found.push(`${where}: line ${c.block.line}: the server block "${describeBlock(c.block)}" serves ${c.key}`)
  for (const file of imported) {
    const parsed = parseCorefile(file.text, file.name)
    for (const c of conflicts(parsed, xccBlocks(file.text, file.name), link.domain, link.zone)) found.push(`${file.name}: line ${c.block.line}: the server block "${describeBlock(c.block)}" serves ${c.key}`)
  }
  if (found.length > 0) {
    throw new XccError(`another server block already serves names in ${link.domain}, so xcc does not add one for ${link.zone} (CoreDNS refuses a zone served twice, and the longest zone would take the other's names)`, {
      details: found, hint: 'choose another --domain, or remove that block first',
    })
  }
}

/** adds or replaces the link's block; `imported`: files the Corefile imports, checked for conflicts */
export function linkCorefile(text: string, link: LinkBlock, where: string, imported: readonly ImportedFile[] = []): CorefileEdit {
  const corefile = parseCorefile(text, where)
  if (corefile.unbraced) throw new XccError(`${where}: the Corefile is a single server block without braces, which can hold no other block`, {hint: 'put its body in braces ("<zones> { … }") first'})
  checkNoConflict(corefile, where, link, imported)
  // a file indented with tabs only gets a block indented with tabs
  const indent = /^\t+\S/m.test(text) && !/^ +\S/m.test(text) ? '\t' : '    '
  const block = renderLinkBlock(link, corefile.eol, indent)
  const mine = xccBlocks(text, where).find((b) => b.cluster === link.cluster && b.domain === link.domain)
  let next: string
  if (mine) {
    const endsFile = mine.end === text.length && !text.endsWith('\n')
    next = text.slice(0, mine.start) + (endsFile ? block.slice(0, -corefile.eol.length) : block) + text.slice(mine.end)
  } else {
    const joined = text.length === 0 || text.endsWith('\n') ? text : text + corefile.eol
    // a file without a final newline gets one before the block and none after it, so removing
    // "newline + block" gives its bytes back
    next = joined + (joined === text ? block : block.slice(0, -corefile.eol.length))
  }
  assertLoads(next, where, link)
  const changed = next !== text
  return {text: next, changed, action: !changed ? 'none' : mine ? 'replace' : 'add'}
}

/** removes the link's block, giving back the bytes the Corefile had before it was added */
export function unlinkCorefile(text: string, id: {cluster: string; domain: string}, where: string): CorefileEdit {
  const mine = xccBlocks(text, where).find((b) => b.cluster === id.cluster && b.domain === id.domain)
  if (!mine) return {text, changed: false, action: 'none'}
  const atEof = mine.end === text.length && !text.endsWith('\n')
  const start = atEof && mine.start > 0 && text[mine.start - 1] === '\n' ? mine.start - (text[mine.start - 2] === '\r' ? 2 : 1) : mine.start
  return {text: text.slice(0, start) + text.slice(mine.end), changed: true, action: 'remove'}
}

/** the new Corefile parses and serves no zone:port twice (CoreDNS would not start otherwise) */
function assertLoads(text: string, where: string, link: LinkBlock): void {
  const parsed = parseCorefile(text, `${where} (as xcc would write it)`)
  const seen = new Map<string, ServerBlock>()
  for (const s of parsed.servers) {
    for (const k of s.keys) {
      const id = `${k.scheme}://${k.zone}:${k.port ?? '?'}`
      const other = seen.get(id)
      if (other && other !== s) throw new XccError(`${where}: with xcc's block for ${link.zone}, ${k.raw} would be served twice (lines ${other.line} and ${s.line}); CoreDNS would not start, so xcc does not write it`)
      seen.set(id, s)
    }
  }
}

/** the links a Corefile holds: their identity and the zone and targets of their block */
export function corefileLinks(text: string, where: string): {cluster: string; domain: string; zone?: string; targets: string[]}[] {
  return xccBlocks(text, where).map((b) => {
    const parsed = parseCorefile(b.body, where)
    const server = parsed.servers[0]
    const forward = server?.plugins.find((p) => p.name === 'forward')
    return {cluster: b.cluster, domain: b.domain, ...(server?.keys[0] ? {zone: server.keys[0].zone} : {}), targets: forward ? forward.args.slice(1) : []}
  })
}
