/** Small builders for iptables evaluator tests. */
import assert from 'node:assert/strict'

import type {HookOutcome, HostContext, IptPacket, PipelineOutcome, Ruleset} from '../../../src/core/iptables/index.js'
import {parseIptablesSave} from '../../../src/core/iptables/index.js'
import {formatIp, ip} from '../../../src/core/net/ipv4.js'

/** Parses a dump that must be free of syntax errors. */
export function load(text: string): Ruleset {
  const {ruleset, errors} = parseIptablesSave(text, 'test')
  assert.deepEqual(errors, [])
  return ruleset
}

/** A nat or filter table around the given lines (chains declared as needed). */
export function table(name: 'nat' | 'filter' | 'mangle' | 'raw', lines: readonly string[], chains: readonly string[] = []): string {
  return [`*${name}`, ...chains.map((c) => `:${c} - [0:0]`), ...lines, 'COMMIT', ''].join('\n')
}

export function packet(overrides: Partial<Omit<IptPacket, 'src' | 'dst'>> & {src?: string; dst?: string} = {}): IptPacket {
  const {src, dst, ...rest} = overrides
  return {
    src: ip(src ?? '10.132.0.10'),
    dst: ip(dst ?? '10.193.0.3'),
    protocol: 'tcp',
    srcPort: 47162,
    dstPort: 32191,
    inIface: 'cbr0',
    mark: 0,
    ctstate: 'NEW',
    ...rest,
  }
}

/** A GKE node: eth0 10.209.0.2, cbr0 10.132.0.1. */
export const nodeHost: HostContext = {
  isLocal: (address) => address === ip('10.209.0.2') || address === ip('10.132.0.1') || address >>> 24 === 127,
  interfaceAddress: (iface) => ({eth0: ip('10.209.0.2'), cbr0: ip('10.132.0.1')})[iface],
}

export function only<T>(items: readonly T[]): T {
  assert.equal(items.length, 1, `expected exactly one outcome, got ${items.length}`)
  return items[0] as T
}

/** `ACCEPT by nat/POSTROUTING#1`, `DROP by filter/FORWARD policy`, `unknown at …` */
export function summarize(outcome: HookOutcome): string {
  if (outcome.kind === 'unknown') return `unknown at ${outcome.rule.chain}#${outcome.rule.index}`
  const by = 'index' in outcome.decidedBy ? `${outcome.decidedBy.chain}#${outcome.decidedBy.index}` : `${outcome.decidedBy.chain} policy`
  return `${outcome.verdict} by ${outcome.decidedBy.table}/${by}`
}

export function hitsOf(outcome: HookOutcome | PipelineOutcome): string[] {
  return outcome.hits.map((h) => `${h.chain}#${h.index}`)
}

export function addressesOf(p: IptPacket): string {
  return `${formatIp(p.src)}:${p.srcPort} > ${formatIp(p.dst)}:${p.dstPort}`
}
