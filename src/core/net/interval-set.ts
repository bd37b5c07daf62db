import {type Cidr, type Ip, formatCidr, lastIp} from './ipv4.js'

/**
 * A set of IPv4 addresses as sorted, disjoint, inclusive intervals.
 * Lets the tracer answer exact set questions such as "does this firewall admit the whole
 * health-check range" (ILB-08) without enumerating addresses.
 */
export class IntervalSet {
  private constructor(private readonly spans: ReadonlyArray<readonly [Ip, Ip]>) {}

  static empty(): IntervalSet {
    return new IntervalSet([])
  }

  static of(cidrs: readonly Cidr[]): IntervalSet {
    return IntervalSet.fromSpans(cidrs.map((c) => [c.base, lastIp(c)] as const))
  }

  private static fromSpans(spans: ReadonlyArray<readonly [Ip, Ip]>): IntervalSet {
    const sorted = [...spans].sort((a, b) => a[0] - b[0])
    const merged: Array<[Ip, Ip]> = []
    for (const [lo, hi] of sorted) {
      const last = merged[merged.length - 1]
      if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi)
      else merged.push([lo, hi])
    }
    return new IntervalSet(merged)
  }

  isEmpty(): boolean {
    return this.spans.length === 0
  }

  has(address: Ip): boolean {
    let lo = 0
    let hi = this.spans.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const span = this.spans[mid] as readonly [Ip, Ip]
      if (address < span[0]) hi = mid - 1
      else if (address > span[1]) lo = mid + 1
      else return true
    }
    return false
  }

  union(other: IntervalSet): IntervalSet {
    return IntervalSet.fromSpans([...this.spans, ...other.spans])
  }

  intersect(other: IntervalSet): IntervalSet {
    const out: Array<[Ip, Ip]> = []
    let i = 0
    let j = 0
    while (i < this.spans.length && j < other.spans.length) {
      const a = this.spans[i] as readonly [Ip, Ip]
      const b = other.spans[j] as readonly [Ip, Ip]
      const lo = Math.max(a[0], b[0])
      const hi = Math.min(a[1], b[1])
      if (lo <= hi) out.push([lo, hi])
      if (a[1] < b[1]) i++
      else j++
    }
    return new IntervalSet(out)
  }

  subtract(other: IntervalSet): IntervalSet {
    const out: Array<[Ip, Ip]> = []
    let j = 0
    for (const [lo0, hi] of this.spans) {
      let lo = lo0
      while (j < other.spans.length && (other.spans[j] as readonly [Ip, Ip])[1] < lo) j++
      let k = j
      while (k < other.spans.length && lo <= hi) {
        const [olo, ohi] = other.spans[k] as readonly [Ip, Ip]
        if (olo > hi) break
        if (olo > lo) out.push([lo, olo - 1])
        lo = Math.max(lo, ohi + 1)
        k++
      }
      if (lo <= hi) out.push([lo, hi])
    }
    return new IntervalSet(out)
  }

  equals(other: IntervalSet): boolean {
    return (
      this.spans.length === other.spans.length &&
      this.spans.every((s, i) => s[0] === (other.spans[i] as readonly [Ip, Ip])[0] && s[1] === (other.spans[i] as readonly [Ip, Ip])[1])
    )
  }

  /** number of addresses in the set */
  size(): number {
    return this.spans.reduce((n, [lo, hi]) => n + (hi - lo + 1), 0)
  }

  /** The set as the smallest list of CIDR blocks, for messages. */
  toCidrs(): Cidr[] {
    const out: Cidr[] = []
    for (const [lo0, hi] of this.spans) {
      let lo = lo0
      while (lo <= hi) {
        let prefix = 32
        while (prefix > 0) {
          const size = 2 ** (32 - (prefix - 1))
          if (lo % size !== 0 || lo + size - 1 > hi) break
          prefix--
        }
        out.push({base: lo, prefix})
        lo += 2 ** (32 - prefix)
      }
    }
    return out
  }

  toString(): string {
    return this.toCidrs().map(formatCidr).join(', ')
  }
}
