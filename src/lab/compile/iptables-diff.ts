/**
 * iptables-restore text per table. `iptables-restore` (without --noflush) replaces exactly the
 * tables its input names, each in one transaction, and leaves the others alone: a change restores
 * only the tables whose rules differ, in only the namespaces where they differ. A table the new
 * plan no longer has is restored empty (its built-in chains, policy ACCEPT).
 */

const BUILTIN: Readonly<Record<string, readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
}

export interface TableText {
  readonly table: string
  /** `*table` … `COMMIT`, newline-terminated: input for iptables-restore on its own */
  readonly text: string
}

/** The tables of an iptables-restore text, in order; comments and blank lines dropped. */
export function splitTables(text: string | undefined): Map<string, string> {
  const tables = new Map<string, string>()
  let current: {name: string; lines: string[]} | undefined
  for (const raw of (text ?? '').split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    if (line.startsWith('*')) {
      current = {name: line.slice(1), lines: [line]}
      continue
    }
    if (!current) continue
    current.lines.push(line)
    if (line === 'COMMIT') {
      tables.set(current.name, `${current.lines.join('\n')}\n`)
      current = undefined
    }
  }
  return tables
}

/** An emptied table: its built-in chains with policy ACCEPT, no rules, no chains of its own. */
export function emptyTable(table: string): string {
  return [`*${table}`, ...(BUILTIN[table] ?? []).map((c) => `:${c} ACCEPT [0:0]`), 'COMMIT', ''].join('\n')
}

/** The tables to restore to go from `before` to `after` (counters in chain lines do not count as a change). */
export function diffTables(before: string | undefined, after: string | undefined): TableText[] {
  const normal = (t: string): string => t.replace(/ \[\d+:\d+\]$/gm, ' [0:0]')
  const old = splitTables(before)
  const now = splitTables(after)
  const out: TableText[] = []
  for (const [table, text] of now) if (old.get(table) === undefined || normal(old.get(table) as string) !== normal(text)) out.push({table, text})
  for (const table of old.keys()) if (!now.has(table)) out.push({table, text: emptyTable(table)})
  return out
}
