/**
 * Start-up beside bare Node: each command in a fresh process, interleaved round by round (so
 * that drift on a shared machine hits every command alike) after two warm-up runs each; the
 * median per command. Used by bench/run.ts and bench/cloud.ts.
 */
import {spawnSync} from 'node:child_process'
import {performance} from 'node:perf_hooks'

export interface StartupResult {
  readonly label: string
  readonly argv: readonly string[]
  readonly samples: number[]
  readonly medianMs: number
  readonly minMs: number
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** `commands` (argv after `node`) run `runs` times each in `cwd`; the first is the baseline by convention */
export function measureStartup(cwd: string, commands: ReadonlyArray<{label: string; argv: readonly string[]}>, runs: number): StartupResult[] {
  const samples = commands.map(() => [] as number[])
  const runOnce = (argv: readonly string[]): number => {
    const start = performance.now()
    const result = spawnSync(process.execPath, argv, {cwd, encoding: 'utf8', env: {...process.env, NODE_OPTIONS: ''}})
    const ms = performance.now() - start
    if (result.status !== 0) throw new Error(`node ${argv.join(' ')} exited with ${result.status}: ${result.stderr.slice(-2000)}`)
    return ms
  }
  for (const c of commands) for (let i = 0; i < 2; i++) runOnce(c.argv)
  for (let round = 0; round < runs; round++) {
    commands.forEach((c, i) => (samples[i] as number[]).push(runOnce(c.argv)))
  }
  return commands.map((c, i) => ({...c, samples: samples[i] as number[], medianMs: median(samples[i] as number[]), minMs: Math.min(...(samples[i] as number[]))}))
}
