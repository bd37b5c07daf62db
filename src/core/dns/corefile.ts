/**
 * Reading a CoreDNS Corefile well enough to edit it safely: its server blocks (the zones and
 * ports each one serves, where it starts and ends), its snippets, its top-level `import` lines
 * and its comments. The syntax is Caddy's (v1, as CoreDNS uses it):
 *
 * - tokens are separated by white space; `"…"` quotes a token (it may hold spaces, `\"` escapes);
 * - `#` at the start of a token comments out the rest of the line;
 * - a server block is one or more keys (`[scheme://]zone[:port]`, separated by spaces or commas,
 *   `dns://` and port 53 by default) then a `{` … `}` body whose lines are plugins (a plugin may
 *   have its own `{` … `}` block); `(name) { … }` defines a snippet, `import` pulls one (or files,
 *   by glob) in;
 * - a file with a single server block may leave out its braces.
 *
 * Nothing here changes the text: corefile-edit.ts does, by byte offsets into it.
 */
import {XccError} from '../errors.js'

export interface CorefileToken {
  readonly text: string
  /** byte offsets into the Corefile: [start, end) */
  readonly start: number
  readonly end: number
  /** 1-based line of the token's first character */
  readonly line: number
  readonly quoted: boolean
}

export interface CorefileComment {
  readonly line: number
  readonly start: number
  readonly text: string
}

export interface ServerKey {
  readonly raw: string
  /** dns, tls, grpc, https, quic */
  readonly scheme: string
  /** lowercase, no final dot; '.' for the root */
  readonly zone: string
  /** undefined when it cannot be known here (an environment variable) */
  readonly port?: number
}

export interface Plugin {
  readonly name: string
  readonly args: readonly string[]
  readonly line: number
}

export interface ServerBlock {
  /** set for a snippet `(name) { … }` */
  readonly snippet?: string
  readonly keys: readonly ServerKey[]
  readonly plugins: readonly Plugin[]
  /** offset of the first key, offset just after the closing brace */
  readonly start: number
  readonly end: number
  readonly line: number
  readonly endLine: number
}

export interface TopImport {
  readonly pattern: string
  readonly line: number
}

export interface Corefile {
  readonly text: string
  /** server blocks in file order (snippets are not among them) */
  readonly servers: readonly ServerBlock[]
  readonly snippets: readonly ServerBlock[]
  readonly imports: readonly TopImport[]
  readonly comments: readonly CorefileComment[]
  /** the file is one server block without braces (then it can hold no other) */
  readonly unbraced: boolean
  /** '\r\n' when the file's lines end so, else '\n' */
  readonly eol: string
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = {dns: 53, tls: 853, grpc: 443, https: 443, quic: 853}

/** `where`: what the text is, for messages (`ConfigMap kube-system/coredns key "Corefile"`) */
export function tokenize(text: string, where: string): {tokens: CorefileToken[]; comments: CorefileComment[]} {
  const tokens: CorefileToken[] = []
  const comments: CorefileComment[] = []
  let line = 1
  let i = 0
  while (i < text.length) {
    const c = text[i] as string
    if (c === '\n') {
      line++
      i++
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++
    } else if (c === '#') {
      const end = text.indexOf('\n', i)
      const stop = end === -1 ? text.length : end
      comments.push({line, start: i, text: text.slice(i, stop).replace(/\r$/, '')})
      i = stop
    } else if (c === '"') {
      const startLine = line
      let j = i + 1
      let value = ''
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && text[j + 1] === '"') {
          value += '"'
          j++
        } else {
          if (text[j] === '\n') line++
          value += text[j]
        }
      }
      if (j >= text.length) throw new XccError(`${where}: line ${startLine}: a quoted token is never closed`, {hint: 'CoreDNS would not load this Corefile either; fix it first'})
      tokens.push({text: value, start: i, end: j + 1, line: startLine, quoted: true})
      i = j + 1
    } else {
      let j = i
      while (j < text.length && !/[\s]/.test(text[j] as string)) j++
      tokens.push({text: text.slice(i, j), start: i, end: j, line, quoted: false})
      i = j
    }
  }
  return {tokens, comments}
}

/** `10.0.0.0/8` as a reverse zone (whole octets only; other prefixes keep their in-addr.arpa parent) */
function reverseZone(host: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(host)
  if (!m) return host.includes(':') ? 'ip6.arpa' : 'in-addr.arpa'
  const octets = Math.floor(Number(m[5]) / 8)
  return [...m.slice(1, 1 + octets).reverse(), 'in-addr.arpa'].join('.')
}

export function parseKey(raw: string): ServerKey {
  const schemeMatch = /^([a-z0-9+]+):\/\//i.exec(raw)
  const scheme = schemeMatch ? (schemeMatch[1] as string).toLowerCase() : 'dns'
  const rest = schemeMatch ? raw.slice(schemeMatch[0].length) : raw
  // the port follows the last ':' after any '/' (a CIDR, maybe IPv6, names a reverse zone)
  const slash = rest.lastIndexOf('/')
  const colon = rest.lastIndexOf(':')
  const hasPort = colon > slash && (slash >= 0 || rest.indexOf(':') === colon)
  const host = (hasPort ? rest.slice(0, colon) : rest).toLowerCase()
  const portText = hasPort ? rest.slice(colon + 1) : undefined
  const port = portText === undefined ? DEFAULT_PORTS[scheme] ?? 53 : /^\d{1,5}$/.test(portText) ? Number(portText) : undefined
  const zone = host.includes('/') ? reverseZone(host) : host.replace(/\.$/, '') || '.'
  return {raw, scheme, zone, ...(port !== undefined ? {port} : {})}
}

const isOpen = (t: CorefileToken | undefined): boolean => t !== undefined && !t.quoted && t.text === '{'
const isClose = (t: CorefileToken | undefined): boolean => t !== undefined && !t.quoted && t.text === '}'

/** index of the `}` matching the `{` at `open` */
function matchingClose(tokens: readonly CorefileToken[], open: number, where: string): number {
  let depth = 0
  for (let i = open; i < tokens.length; i++) {
    if (isOpen(tokens[i])) depth++
    else if (isClose(tokens[i])) {
      depth--
      if (depth === 0) return i
    }
  }
  throw new XccError(`${where}: line ${tokens[open]?.line}: this "{" is never closed`, {hint: 'CoreDNS would not load this Corefile either; fix it first'})
}

/** the plugins of a body (tokens strictly between the braces), one per line at the body's depth */
function plugins(tokens: readonly CorefileToken[], from: number, to: number): Plugin[] {
  const out: Plugin[] = []
  let depth = 0
  let i = from
  while (i < to) {
    const t = tokens[i] as CorefileToken
    if (isOpen(t)) depth++
    else if (isClose(t)) depth--
    else if (depth === 0) {
      const args: string[] = []
      let j = i + 1
      while (j < to && (tokens[j] as CorefileToken).line === t.line && !isOpen(tokens[j]) && !isClose(tokens[j])) args.push((tokens[j++] as CorefileToken).text)
      out.push({name: t.text, args, line: t.line})
      i = j
      continue
    }
    i++
  }
  return out
}

/** `where`: what the text is, for messages; a Corefile CoreDNS could not load is bad input (exit 2) */
export function parseCorefile(text: string, where: string): Corefile {
  const {tokens, comments} = tokenize(text, where)
  const servers: ServerBlock[] = []
  const snippets: ServerBlock[] = []
  const imports: TopImport[] = []
  const eol = text.includes('\r\n') ? '\r\n' : '\n'
  let i = 0
  while (i < tokens.length) {
    const t = tokens[i] as CorefileToken
    if (isClose(t)) throw new XccError(`${where}: line ${t.line}: a "}" closes nothing`, {hint: 'CoreDNS would not load this Corefile either; fix it first'})
    if (!t.quoted && t.text === 'import') {
      const arg = tokens[i + 1]
      if (!arg || arg.line !== t.line) throw new XccError(`${where}: line ${t.line}: import without a file or snippet`, {hint: 'CoreDNS would not load this Corefile either; fix it first'})
      imports.push({pattern: arg.text, line: t.line})
      i += 2
      while (i < tokens.length && (tokens[i] as CorefileToken).line === t.line) i++
      continue
    }
    // keys: up to the `{`, across lines only after a trailing comma
    const keyTokens: CorefileToken[] = []
    let j = i
    while (j < tokens.length && !isOpen(tokens[j])) {
      const k = tokens[j] as CorefileToken
      const prev = keyTokens[keyTokens.length - 1]
      if (prev && k.line !== prev.line && !prev.text.endsWith(',') && k.text !== ',') break
      keyTokens.push(k)
      j++
    }
    if (!isOpen(tokens[j])) {
      // one server block without braces: the rest of the file is its body
      if (servers.length > 0 || snippets.length > 0) throw new XccError(`${where}: line ${t.line}: "${t.text}" is neither a server block (no "{" follows its keys) nor an import`, {hint: 'CoreDNS would not load this Corefile either; fix it first'})
      const last = tokens[tokens.length - 1] as CorefileToken
      servers.push({keys: keysOf(keyTokens), plugins: plugins(tokens, j, tokens.length), start: t.start, end: last.end, line: t.line, endLine: last.line})
      return {text, servers, snippets, imports, comments, unbraced: true, eol}
    }
    const close = matchingClose(tokens, j, where)
    const closeToken = tokens[close] as CorefileToken
    const body = plugins(tokens, j + 1, close)
    const snippet = keyTokens.length === 1 ? /^\((.+)\)$/.exec(keyTokens[0]?.text ?? '') : null
    const block = {plugins: body, start: t.start, end: closeToken.end, line: t.line, endLine: closeToken.line}
    if (snippet) snippets.push({...block, snippet: snippet[1] as string, keys: []})
    else servers.push({...block, keys: keysOf(keyTokens)})
    i = close + 1
  }
  return {text, servers, snippets, imports, comments, unbraced: false, eol}
}

function keysOf(tokens: readonly CorefileToken[]): ServerKey[] {
  return tokens.flatMap((t) => t.text.split(',')).map((s) => s.trim()).filter((s) => s.length > 0).map(parseKey)
}

/** `zone:port` of every key of the block, for messages */
export function describeBlock(block: ServerBlock): string {
  return block.keys.map((k) => k.raw).join(' ')
}
