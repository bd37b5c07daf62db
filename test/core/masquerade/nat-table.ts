/**
 * Test helpers for `iptables-save -t nat` texts: build a nat table from the agent's rendered
 * chain, apply what `iptables-restore --noflush` and `iptables -t nat -I/-A` would do to a dump,
 * and run a pod packet through a table with the repo's evaluator (decideNodeSnat).
 */
import {decideNodeSnat, type NodeSnatDecision} from '../../../src/core/iptables/node-snat.js'
import {type Cidr, type Ip, addIp} from '../../../src/core/net/ipv4.js'

/** iptables-save's quoting: a word with a blank is written in double quotes */
export function quoteArgs(args: readonly string[]): string {
  return args.map((a) => (/[\s"]/.test(a) || a === '' ? `"${a.replace(/"/g, '\\"')}"` : a)).join(' ')
}

interface Section {
  readonly start: number
  readonly commit: number
}

function natSection(lines: readonly string[]): Section | undefined {
  const start = lines.indexOf('*nat')
  if (start < 0) return undefined
  const commit = lines.findIndex((l, i) => i > start && l === 'COMMIT')
  if (commit < 0) throw new Error('nat table without COMMIT')
  return {start, commit}
}

function withNat(save: string): string[] {
  const lines = save.replace(/\n$/, '').split('\n')
  if (natSection(lines)) return lines
  return [...lines, '*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', 'COMMIT']
}

/** `iptables-restore --noflush` of a `*nat … COMMIT` text: each declared chain is created if missing and flushed, then the rules are appended */
export function restoreNoflush(save: string, restore: string): string {
  const lines = withNat(save)
  const input = restore.split('\n').filter((l) => l !== '' && l !== '*nat' && l !== 'COMMIT' && !l.startsWith('#'))
  const declared = input.filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0] as string)
  for (const chain of declared) {
    const {start, commit} = natSection(lines)!
    // flush
    for (let i = commit - 1; i > start; i--) if ((lines[i] as string).startsWith(`-A ${chain} `)) lines.splice(i, 1)
    const sec = natSection(lines)!
    const exists = lines.slice(sec.start, sec.commit).some((l) => l.startsWith(`:${chain} `))
    if (!exists) {
      let lastDecl = sec.start
      for (let i = sec.start + 1; i < sec.commit; i++) if ((lines[i] as string).startsWith(':')) lastDecl = i
      lines.splice(lastDecl + 1, 0, `:${chain} - [0:0]`)
    }
  }
  for (const rule of input.filter((l) => l.startsWith('-A '))) {
    const {commit} = natSection(lines)!
    lines.splice(commit, 0, rule)
  }
  return `${lines.join('\n')}\n`
}

/** `iptables -t nat -I CHAIN [n] rule…` / `-A CHAIN rule…` (args without the iptables binary) */
export function applyIptables(save: string, args: readonly string[]): string {
  const lines = withNat(save)
  const rest = [...args]
  if (rest[0] === '-t') {
    if (rest[1] !== 'nat') throw new Error(`only the nat table is supported, not ${rest[1]}`)
    rest.splice(0, 2)
  }
  const op = rest.shift()
  const chain = rest.shift() as string
  const sec = natSection(lines)!
  const ruleLines = (): number[] => lines.map((l, i) => (i > sec.start && i < natSection(lines)!.commit && l.startsWith(`-A ${chain} `) ? i : -1)).filter((i) => i >= 0)
  if (op === '-I') {
    const position = /^\d+$/.test(rest[0] ?? '') ? Number(rest.shift()) : 1
    const text = `-A ${chain} ${quoteArgs(rest)}`
    const existing = ruleLines()
    const at = existing[position - 1] ?? (existing.length > 0 ? (existing[existing.length - 1] as number) + 1 : natSection(lines)!.commit)
    lines.splice(at, 0, text)
  } else if (op === '-A') {
    lines.splice(natSection(lines)!.commit, 0, `-A ${chain} ${quoteArgs(rest)}`)
  } else throw new Error(`unsupported iptables operation ${op}`)
  return `${lines.join('\n')}\n`
}

/** the POSTROUTING rules of the nat table, in order (the text after `-A POSTROUTING `) */
export function postroutingRules(save: string): string[] {
  const lines = save.split('\n')
  const sec = natSection(lines)
  if (!sec) return []
  return lines.slice(sec.start, sec.commit).filter((l) => l.startsWith('-A POSTROUTING ')).map((l) => l.slice('-A POSTROUTING '.length))
}

export interface PodNode {
  readonly address: Ip
  readonly podCidr: Cidr
}

/** the decision for a TCP packet from the node's pod (podCIDR + 10) to dst */
export function decidePod(natRules: string, node: PodNode, dst: Ip): NodeSnatDecision {
  return decideNodeSnat({
    natRules, source: 'test', addresses: [node.address], podCidr: node.podCidr, uplink: 'eth0',
    packet: {src: addIp(node.podCidr.base, 10), dst, protocol: 'tcp', srcPort: 40000, dstPort: 80},
  })
}

/** a decision without line numbers, to compare a table before and after an insertion */
export function decisionSummary(d: NodeSnatDecision): string {
  switch (d.kind) {
    case 'masquerade': return `masquerade by ${d.rule.chain}: ${d.rule.text}`
    case 'kept': return `kept${d.decisive ? ` (${d.decisive.how} ${d.decisive.range} in ${d.decisive.rule.chain}: ${d.decisive.rule.text})` : ''}`
    case 'dropped': return `dropped in ${d.hook}`
    case 'unknown': return `unknown: ${d.reason}`
    case 'unparsable': return `unparsable: ${d.message}`
    case 'local': return 'local'
  }
}
