/**
 * What xcc's node scripts print from their host-network pods (templates/probe/capture.sh,
 * templates/masquerade/node-rules.sh): sections between `=== xcc:<name>` markers — the node's
 * `iptables-save -t nat`, its IPv4 routes, tcpdump's lines — and an end marker with an exit code.
 */

export interface NodeLog {
  /** `iptables-save -t nat` of the node, when it printed one */
  readonly natRules?: string
  readonly natError?: string
  /** `ip -4 route show` lines */
  readonly routes: readonly string[]
  /** the lines of each other section, by name (e.g. `tcpdump`) */
  readonly sections: ReadonlyMap<string, readonly string[]>
  /** the script reached its end marker (with its exit code) */
  readonly ended?: number
}

const MARKER = /^=== xcc:(iptables-nat|ip-route|tcpdump|end)(?: (\d+))?$/

export function parseNodeLog(text: string): NodeLog {
  const sections = new Map<string, string[]>()
  let current: string[] | undefined
  let ended: number | undefined
  for (const line of text.split('\n')) {
    const m = MARKER.exec(line.trimEnd())
    if (m) {
      if (m[1] === 'end') ended = Number(m[2] ?? 0)
      else sections.set(m[1] as string, (current = []))
      continue
    }
    current?.push(line)
  }
  const nat = sections.get('iptables-nat')?.join('\n').trim()
  const natFailed = nat === undefined ? undefined : /xcc: iptables-save failed|command not found|Permission denied|can't initialize/i.test(nat)
  const routes = (sections.get('ip-route') ?? []).map((l) => l.trim()).filter((l) => l && !l.startsWith('xcc:'))
  return {
    ...(nat && !natFailed ? {natRules: `${nat}\n`} : {}),
    ...(nat && natFailed ? {natError: nat.split('\n').slice(-3).join(' ')} : {}),
    routes,
    sections,
    ...(ended === undefined ? {} : {ended}),
  }
}
