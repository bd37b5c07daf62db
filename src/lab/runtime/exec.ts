/** Running host commands for the lab: bounded in time, errors that name the command and its output. */
import {spawn} from 'node:child_process'

export interface ExecResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export function exec(command: string, args: readonly string[], options: {input?: string; timeoutMs?: number} = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({code, stdout, stderr})
    })
    child.stdin.on('error', () => {})
    child.stdin.end(options.input ?? '')
  })
}

/** Like exec, but a non-zero exit is an error naming what failed. */
export async function run(command: string, args: readonly string[], options: {input?: string; timeoutMs?: number; what?: string} = {}): Promise<string> {
  const result = await exec(command, args, options)
  if (result.code !== 0) {
    const output = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-6).join('\n')
    throw new Error(`${options.what ?? `${command} ${args.slice(0, 4).join(' ')}`} failed (exit ${result.code ?? 'killed'}): ${output}`)
  }
  return result.stdout
}

/** Runs tasks with at most `limit` in flight; the first failure wins after the running ones settle. */
export async function inParallel<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let failure: unknown
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T
      try {
        await task(item)
      } catch (error) {
        failure ??= error
      }
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
  if (failure !== undefined) throw failure
}
