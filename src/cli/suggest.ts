/**
 * "Did you mean …?" for mistyped commands and flags: the candidates a few edits away, by
 * Damerau–Levenshtein distance (optimal string alignment: insertions, deletions, substitutions
 * and swaps of two neighbours count one each, so `--form` is one edit from `--from`).
 */

export function editDistance(a: string, b: string): number {
  // rows i-2, i-1 and i of the classic table
  let before: number[] = []
  let previous = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (before[j - 2] as number) + 1)
      current[j] = d
    }
    before = previous
    previous = current
  }
  return previous[b.length] as number
}

/** at most a third of the typed word's letters may be wrong (and at least `least`) */
function close(typed: string, candidate: string, least = 2): boolean {
  return editDistance(typed, candidate) <= Math.max(least, Math.floor(typed.length / 3))
}

function byDistance(typed: string, candidates: readonly string[]): string[] {
  return candidates.map((k) => ({k, d: editDistance(typed, k)})).sort((a, b) => a.d - b.d || a.k.localeCompare(b.k)).map((x) => x.k)
}

/** commands that share the typed topic or are within a few edits of it */
export function nearestCommands(typed: string, known: readonly string[]): string[] {
  const topic = typed.split(' ')[0] ?? ''
  const sameTopic = known.filter((k) => k.split(' ')[0] === topic)
  if (sameTopic.length) return byDistance(typed, sameTopic).slice(0, 3)
  return byDistance(typed, known.filter((k) => close(typed, k))).slice(0, 3)
}

export interface FlagSpec {
  readonly name: string
  readonly aliases?: readonly string[]
  readonly hidden?: boolean
}

/**
 * The long flag nearest to a mistyped one (`--topolgy`, `--topolgy=x`, `-topology`), as the
 * user should type it (`--topology`); undefined when nothing is close. A single-letter flag
 * (`-i`) has no meaningful neighbour.
 */
export function nearestFlag(typed: string, flags: readonly FlagSpec[]): string | undefined {
  const word = typed.replace(/^--?/, '').replace(/=.*$/, '')
  if (word.length < 2) return undefined
  const names = flags.filter((f) => !f.hidden).flatMap((f) => [f.name, ...(f.aliases ?? [])])
  const best = byDistance(word, names.filter((n) => close(word, n, 1)))[0]
  return best === undefined ? undefined : `--${best}`
}
