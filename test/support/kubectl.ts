/**
 * The real kubectl for tests: the versioned `kubectl.1.32` in the Google Cloud SDK's bin/
 * folder (found by resolving `gcloud` on the PATH), never the `kubectl` on the PATH (gcloud's
 * version dispatcher, which contacts the server even for local commands). It comes with the
 * machine image, not from a package archive: when it is missing, tests fail loudly in CI
 * (`CI` set) and are skipped, saying why, elsewhere.
 */
import {spawn} from 'node:child_process'
import {accessSync, constants, mkdtempSync, realpathSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {delimiter, dirname, join} from 'node:path'

export const KUBECTL_VERSION = '1.32'

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    const candidate = join(dir, command)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

/** The path of kubectl.1.32 beside gcloud, or why there is none. */
export function findKubectl(): {path: string} | {missing: string} {
  const gcloud = onPath('gcloud')
  if (!gcloud) return {missing: 'gcloud is not on the PATH (kubectl.1.32 comes with the Google Cloud SDK of the machine image)'}
  const path = join(dirname(realpathSync(gcloud)), `kubectl.${KUBECTL_VERSION}`)
  try {
    accessSync(path, constants.X_OK)
    return {path}
  } catch {
    return {missing: `${path} is missing or not executable (install the SDK's kubectl component)`}
  }
}

/**
 * For `describe(name, {skip: kubectlSkip()}, …)`: false when kubectl is there, else the reason
 * to skip. In CI a missing kubectl throws instead: those tests must run there.
 */
export function kubectlSkip(): false | string {
  const found = findKubectl()
  if ('path' in found) return false
  if (process.env.CI) throw new Error(`kubectl tests cannot run in CI: ${found.missing}`)
  return `kubectl.${KUBECTL_VERSION} not found: ${found.missing}`
}

export interface KubectlResult {
  code: number | null
  stdout: string
  stderr: string
  ms: number
}

/**
 * Runs kubectl with an isolated HOME and discovery cache, the given kubeconfig, and a bounded
 * time; the environment holds nothing else from the caller's but PATH.
 */
export class Kubectl {
  readonly path: string
  private readonly home: string

  constructor(path: string) {
    this.path = path
    this.home = mkdtempSync(join(tmpdir(), 'xcc-kubectl-home-'))
  }

  run(kubeconfig: string, args: readonly string[], options: {input?: string; timeoutMs?: number} = {}): Promise<KubectlResult> {
    const started = performance.now()
    return new Promise((resolve, reject) => {
      const child = spawn(this.path, ['--cache-dir', join(this.home, 'cache'), ...args], {
        env: {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.home, KUBECONFIG: kubeconfig},
        stdio: ['pipe', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
      child.once('error', (error) => {
        clearTimeout(timer)
        reject(error)
      })
      child.once('close', (code) => {
        clearTimeout(timer)
        resolve({code, stdout, stderr, ms: performance.now() - started})
      })
      child.stdin.end(options.input ?? '')
    })
  }

  /** Runs kubectl and fails with its output unless it exits 0. */
  async ok(kubeconfig: string, args: readonly string[], options: {input?: string; timeoutMs?: number} = {}): Promise<string> {
    const result = await this.run(kubeconfig, args, options)
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`)
    return result.stdout
  }

  dispose(): void {
    rmSync(this.home, {recursive: true, force: true})
  }
}
