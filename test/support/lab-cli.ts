/**
 * The built CLI against real labs, for the `xcc lab` command tests: each test file makes its own
 * temporary XCC_HOME directories and uses lab names starting with `fx` (plus its pid), and
 * `cleanup()` — run from `after`, also when a test failed — takes down every lab it was told
 * about under every home and removes the homes.
 */
import {type SpawnSyncReturns, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const STACK = /^\s+at .+:\d+:\d+\)?$/m

export class LabCli {
  private readonly homes: string[] = []
  private readonly labs = new Set<string>()

  /** a new XCC_HOME (mode 0700, as mkdtemp makes it) */
  home(): string {
    const home = mkdtempSync(join(tmpdir(), 'xcc-fx-home-'))
    this.homes.push(home)
    return home
  }

  /** a lab name for this process, remembered for cleanup */
  lab(label: string): string {
    const name = `fx${label}${process.pid}`
    this.labs.add(name)
    return name
  }

  run(home: string, args: readonly string[], options: {env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number} = {}): SpawnSyncReturns<string> {
    return spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {
      cwd: options.cwd ?? ROOT, encoding: 'utf8', timeout: options.timeoutMs ?? 60_000,
      env: {...process.env, XCC_HOME: home, NO_COLOR: '1', ...options.env},
    })
  }

  /** `lab down` of every lab under every home, then the namespaces any of them still has */
  cleanup(): void {
    for (const home of this.homes) for (const lab of this.labs) this.run(home, ['lab', 'down', '--name', lab])
    for (const lab of this.labs) for (const ns of namespacesOf(lab)) spawnSync('ip', ['netns', 'del', ns])
    for (const lab of this.labs) rmSync(`/run/xcc/labs/${lab}.json`, {force: true})
    for (const home of this.homes) rmSync(home, {recursive: true, force: true})
  }
}

export function namespacesOf(lab: string): string[] {
  const out = spawnSync('ip', ['netns', 'list'], {encoding: 'utf8'}).stdout
  return out.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(`xcc-${lab}-`))
}
