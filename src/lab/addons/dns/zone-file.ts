/**
 * RFC 1035 master files (§5.1), read by the lab on its own (never through src/core/dns), as far
 * as the CoreDNS `file` plugin's answers in the lab need them: `$ORIGIN` and `$TTL`, `;` comments,
 * parentheses across lines, `@`, relative and absolute owner names, a blank owner repeating the
 * previous one, TTL and class in either order. A records are kept; other types are recognised and
 * left out (the lab answers A queries). A malformed line is an error naming the line, as CoreDNS
 * refuses to load such a zone.
 */
export interface ZoneRecord {
  /** absolute, lower case, without the final dot */
  readonly name: string
  readonly ttl: number
  readonly address: string
}

export type ZoneParse = {readonly ok: true; readonly records: ZoneRecord[]} | {readonly ok: false; readonly error: string}

const TYPES = new Set(['A', 'AAAA', 'NS', 'SOA', 'CNAME', 'MX', 'TXT', 'PTR', 'SRV', 'CAA'])
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/

function absolute(name: string, origin: string): string {
  if (name === '@') return origin
  if (name.endsWith('.')) return name.slice(0, -1).toLowerCase()
  return (origin ? `${name}.${origin}` : name).toLowerCase()
}

/** logical lines: comments gone, parenthesised groups joined; each with its first physical line number and whether it starts with blank */
function logicalLines(text: string): Array<{line: number; blankOwner: boolean; words: string[]}> {
  const out: Array<{line: number; blankOwner: boolean; words: string[]}> = []
  let current: {line: number; blankOwner: boolean; words: string[]} | undefined
  let depth = 0
  text.split('\n').forEach((raw, index) => {
    const body = raw.replace(/;.*$/, '')
    if (depth === 0) current = {line: index + 1, blankOwner: /^[ \t]/.test(body), words: []}
    for (const word of body.replace(/([()])/g, ' $1 ').split(/\s+/).filter(Boolean)) {
      if (word === '(') depth++
      else if (word === ')') depth = Math.max(0, depth - 1)
      else current!.words.push(word)
    }
    if (depth === 0 && current && current.words.length > 0) out.push(current)
  })
  if (depth > 0 && current) out.push({...current, words: ['(unclosed']})
  return out
}

/** the records of `text`, a zone whose origin is `origin` (absolute, without the final dot) unless $ORIGIN says otherwise */
export function parseZoneText(text: string, origin: string, defaultTtl = 3600): ZoneParse {
  let currentOrigin = origin.replace(/\.$/, '').toLowerCase()
  let ttlDefault = defaultTtl
  let previous: string | undefined
  const records: ZoneRecord[] = []
  for (const {line, blankOwner, words} of logicalLines(text)) {
    const fail = (why: string): ZoneParse => ({ok: false, error: `line ${line}: ${why}`})
    if (words[0] === '(unclosed') return fail('unclosed parenthesis')
    if (words[0] === '$ORIGIN') {
      if (!words[1]) return fail('$ORIGIN without a name')
      currentOrigin = absolute(words[1], currentOrigin)
      continue
    }
    if (words[0] === '$TTL') {
      if (!/^\d+$/.test(words[1] ?? '')) return fail(`$TTL ${words[1] ?? ''} is not a number of seconds`)
      ttlDefault = Number(words[1])
      continue
    }
    if (words[0]?.startsWith('$')) return fail(`${words[0]} is not supported`)
    let rest = [...words]
    let owner: string
    if (blankOwner) {
      if (previous === undefined) return fail('no owner name and no previous one')
      owner = previous
    } else owner = absolute(rest.shift() as string, currentOrigin)
    previous = owner
    let ttl = ttlDefault
    for (let i = 0; i < 2 && rest.length > 0; i++) {
      if (/^\d+$/.test(rest[0] as string)) ttl = Number(rest.shift())
      else if (/^(IN|CH|HS)$/i.test(rest[0] as string)) rest.shift()
    }
    const type = (rest.shift() ?? '').toUpperCase()
    if (!TYPES.has(type)) return fail(`unknown or missing record type ${JSON.stringify(type)}`)
    if (type !== 'A') continue
    const address = rest[0]
    if (!address || !IPV4.test(address) || rest.length > 1) return fail(`A record of ${owner}: ${JSON.stringify(rest.join(' '))} is not one IPv4 address`)
    records.push({name: owner, ttl, address})
    rest = []
  }
  return {ok: true, records}
}
