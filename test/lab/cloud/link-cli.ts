/**
 * For the `xcc link create|delete` tests: a lab of a scenario brought up with the built CLI, xcc
 * run with what `xcc lab env` prints, the project's snapshot (to prove a run wrote nothing, or
 * that delete restored everything), a real TCP connection from a pod of the lab (curl to the echo
 * server, which answers with the server's name), the real gcloud, and xcc run as a real process
 * that a test kills after the n-th progress line.
 */
import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {LabCli, ROOT} from '../../support/lab-cli.js'
import {type RunResult, findSdk, runTool} from './support.js'

export class LinkLab {
  readonly cli = new LabCli()
  readonly home = this.cli.home()
  readonly name: string
  env: Record<string, string> = {}
  private readonly toolHome = mkdtempSync(join(tmpdir(), 'xcc-link-gcloud-'))

  constructor(label: string, private readonly scenario: string) {
    this.name = this.cli.lab(label)
  }

  up(): void {
    const up = this.cli.run(this.home, ['lab', 'up', '--scenario', this.scenario, '--name', this.name])
    if (up.status !== 0) throw new Error(`lab up: ${up.stderr}`)
    const printed = this.cli.run(this.home, ['lab', 'env', '--name', this.name, '--json'])
    if (printed.status !== 0) throw new Error(`lab env: ${printed.stderr}`)
    this.env = (JSON.parse(printed.stdout) as {variables: Record<string, string>}).variables
  }

  get dir(): string {
    return join(this.home, 'labs', this.name)
  }

  xcc(args: readonly string[], timeoutMs = 180_000): ReturnType<LabCli['run']> {
    return this.cli.run(this.home, args, {env: this.env, timeoutMs})
  }

  /** `xcc snapshot` of the lab's project, as text */
  snapshot(): string {
    const file = join(this.home, 'snapshot.yaml')
    const r = this.xcc(['snapshot', '-o', file])
    if (r.status !== 0) throw new Error(`snapshot: ${r.stderr}`)
    return readFileSync(file, 'utf8')
  }

  /** curl from a pod of the lab to ip:port (3 s); the echo server's answer, or undefined when the connection fails */
  connect(pod: string, address: string): string | undefined {
    const r = this.xcc(['lab', 'exec', '--name', this.name, pod, '--', 'curl', '-s', '-m', '3', `http://${address}/`], 30_000)
    return r.status === 0 && r.stdout.includes('server=') ? r.stdout : undefined
  }

  gcloud(args: readonly string[]): Promise<RunResult> {
    const sdk = findSdk()
    if (!('bin' in sdk)) throw new Error(sdk.missing)
    return runTool(sdk.bin, 'gcloud', args, this.env, {home: this.toolHome})
  }

  /** xcc as a process, sent `signal` once `lines` progress lines matching `pattern` were on stderr */
  killAfter(args: readonly string[], lines: number, signal: NodeJS.Signals, pattern = /: (created|deleted|already there|already gone) in /): Promise<{code: number | null; signal: NodeJS.Signals | null; stderr: string; seen: number}> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {cwd: ROOT, env: {...process.env, XCC_HOME: this.home, NO_COLOR: '1', ...this.env}, stdio: ['ignore', 'pipe', 'pipe']})
      let stderr = ''
      let seen = 0
      let sent = false
      const timer = setTimeout(() => child.kill('SIGKILL'), 180_000)
      child.stdout.resume()
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString()
        seen = stderr.split('\n').filter((l) => pattern.test(l)).length
        if (!sent && seen >= lines) {
          sent = true
          child.kill(signal)
        }
      })
      child.once('error', reject)
      child.once('close', (code, sig) => {
        clearTimeout(timer)
        resolve({code, signal: sig, stderr, seen})
      })
    })
  }

  cleanup(): void {
    this.cli.cleanup()
    rmSync(this.toolHome, {recursive: true, force: true})
  }
}
