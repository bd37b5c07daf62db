/**
 * The packet mark and the connection mark as the evaluator tracks them: a value and the bits of
 * it that are not known. A connection's first packet starts with a known connection mark of 0
 * (a new conntrack entry); a later packet of a connection xcc did not follow has an unknown one,
 * and CONNMARK --restore-mark then makes those bits of the packet mark unknown too. A match on
 * known bits is decided; one that needs an unknown bit is not.
 */
import type {Target} from './compiled.js'
import type {IptPacket} from './types.js'

export interface MarkBits {
  readonly value: number
  /** the bits of `value` that are not known */
  readonly unknown: number
}

const ALL = 0xffffffff

export function packetMark(p: IptPacket): MarkBits {
  return {value: p.mark, unknown: p.markUnknown ?? 0}
}

/** The connection's mark; undefined for a packet without a connection (INVALID, UNTRACKED: nf_ct_get gives NULL). */
export function connectionMark(p: IptPacket): MarkBits | undefined {
  if (p.ctstate === 'INVALID' || p.ctstate === 'UNTRACKED') return undefined
  if (p.ctmark === undefined) return p.ctstate === 'NEW' ? {value: 0, unknown: 0} : {value: 0, unknown: ALL}
  return {value: p.ctmark, unknown: p.ctmarkUnknown ?? 0}
}

/** true/false when `(bits & mask) === value` is certain, undefined when it needs an unknown bit (xt_mark, xt_connmark). */
export function masked(bits: MarkBits, mask: number, value: number): boolean | undefined {
  // a value with bits outside the mask never equals (mark & mask)
  if ((value & ~mask) !== 0) return false
  const known = (mask & ~bits.unknown) >>> 0
  if (((bits.value ^ value) & known) !== 0) return false
  return (mask & bits.unknown) === 0 ? true : undefined
}

function withPacketMark(p: IptPacket, bits: MarkBits): IptPacket {
  const next: {-readonly [K in keyof IptPacket]: IptPacket[K]} = {...p, mark: bits.value >>> 0}
  if (bits.unknown === 0) delete next.markUnknown
  else next.markUnknown = bits.unknown >>> 0
  return next
}

function withConnectionMark(p: IptPacket, bits: MarkBits): IptPacket {
  const next: {-readonly [K in keyof IptPacket]: IptPacket[K]} = {...p, ctmark: bits.value >>> 0}
  if (bits.unknown === 0) delete next.ctmarkUnknown
  else next.ctmarkUnknown = bits.unknown >>> 0
  return next
}

/** MARK: mark = (mark & and) ^ xor; the bits `and` clears become known. */
export function applyMark(p: IptPacket, target: Extract<Target, {kind: 'mark'}>): IptPacket {
  const bits = packetMark(p)
  return withPacketMark(p, {value: ((bits.value & target.and) ^ target.xor) >>> 0, unknown: (bits.unknown & target.and) >>> 0})
}

function shifted(value: number, shift: number): number {
  return shift >= 0 ? (value << shift) >>> 0 : value >>> -shift
}

/** CONNMARK as xt_connmark's connmark_tg_shift does it; nothing happens to a packet without a connection. */
export function applyConnmark(p: IptPacket, target: Extract<Target, {kind: 'connmark'}>): IptPacket {
  const ct = connectionMark(p)
  if (!ct) return p
  const {ctmask, nfmask, shift} = target
  if (target.mode === 'set') {
    return withConnectionMark(p, {value: shifted(((ct.value & ~ctmask) ^ target.mark) >>> 0, shift), unknown: shifted((ct.unknown & ~ctmask) >>> 0, shift)})
  }
  const mark = packetMark(p)
  if (target.mode === 'save') {
    return withConnectionMark(p, {
      value: ((ct.value & ~ctmask) ^ shifted((mark.value & nfmask) >>> 0, shift)) >>> 0,
      unknown: ((ct.unknown & ~ctmask) | shifted((mark.unknown & nfmask) >>> 0, shift)) >>> 0,
    })
  }
  return withPacketMark(p, {
    value: ((mark.value & ~nfmask) ^ shifted((ct.value & ctmask) >>> 0, shift)) >>> 0,
    unknown: ((mark.unknown & ~nfmask) | shifted((ct.unknown & ctmask) >>> 0, shift)) >>> 0,
  })
}

/** The marks as part of a packet key: what later rules can tell apart. */
export function marksKey(p: IptPacket): string {
  const ct = connectionMark(p)
  return `${p.mark}/${p.markUnknown ?? 0} ${ct ? `${ct.value}/${ct.unknown}` : '-'}`
}
