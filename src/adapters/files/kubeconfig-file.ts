/**
 * Kubeconfig files as `xcc kubeconfig` writes them: 0600, atomically (files/index.ts); a merge
 * under client-go's lock (`<file>.lock`, created with O_CREAT|O_EXCL, so kubectl, gcloud and
 * another xcc wait for each other), waited for within a bound; and whether a command is on the
 * PATH (the exec plugin the file names).
 */
import {randomBytes} from 'node:crypto'
import {accessSync, constants, existsSync} from 'node:fs'
import {mkdir, open, rm} from 'node:fs/promises'
import {basename, delimiter, dirname, join} from 'node:path'

import {XccError} from '../../core/errors.js'
import {writeFileAtomic} from './index.js'
import {readRegularFile} from './regular-file.js'

export const KUBECONFIG_MODE = 0o600
const MAX_BYTES = 16 * 2 ** 20

/** the file's text, undefined when it does not exist (exit 2 when it is not a readable regular file) */
export function readKubeconfigIfAny(path: string): string | undefined {
  const read = readRegularFile(path, MAX_BYTES)
  if (read.ok) return read.text
  if (read.code === 'missing') return undefined
  throw new XccError(`cannot read kubeconfig ${path}: ${read.why}`, {exitCode: 2})
}

export async function writeKubeconfig(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, text, KUBECONFIG_MODE)
}

/** Refuses, before anything is created, an output path that cannot be written (a missing directory, no permission, a directory). */
export async function checkWritable(path: string, options: {createDirectory: boolean}): Promise<void> {
  const dir = dirname(path)
  if (options.createDirectory) await mkdir(dir, {recursive: true, mode: 0o700}).catch(() => undefined)
  const probe = join(dir, `.${basename(path)}.${randomBytes(4).toString('hex')}.probe`)
  try {
    const handle = await open(probe, 'wx', KUBECONFIG_MODE)
    await handle.close()
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'its directory does not exist' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'read-only file system' : code === 'ENOTDIR' ? 'a part of its path is not a directory' : code ?? 'unwritable'
    throw new XccError(`cannot write ${path}: ${why}`, {exitCode: 2, hint: 'choose a path in a directory you can write to'})
  } finally {
    await rm(probe, {force: true})
  }
  const read = readRegularFile(path, 1)
  if (!read.ok && read.code === 'not-regular') throw new XccError(`cannot write ${path}: ${read.why}`, {exitCode: 2})
}

/**
 * The file a merge writes, as kubectl chooses it (client-go's PathOptions.GetDefaultFilename):
 * of several KUBECONFIG files the first that exists, else the last one; else the one file named.
 */
export function mergeDestination(paths: readonly string[]): string {
  if (paths.length <= 1) return paths[0] as string
  return paths.find((p) => existsSync(p)) ?? (paths[paths.length - 1] as string)
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs `task` holding `<path>.lock` (client-go's lock file); exit 3 when another holder keeps it past `waitMs`. */
export async function withKubeconfigLock<T>(path: string, task: () => Promise<T>, waitMs = 10_000): Promise<T> {
  const lock = `${path}.lock`
  const deadline = Date.now() + waitMs
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lock, 'wx', KUBECONFIG_MODE)
      await handle.close()
      break
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code !== 'EEXIST') throw new XccError(`cannot lock ${path} (${lock}): ${code ?? (error as Error).message}`, {exitCode: 2})
      if (Date.now() >= deadline) throw new XccError(`${lock} has been held for more than ${waitMs / 1000} s: another kubectl, gcloud or xcc is writing ${path}`, {exitCode: 3, hint: `if none is running, remove ${lock}`})
      await sleep(Math.min(200, 10 + attempt * 10) * (0.5 + Math.random()))
    }
  }
  try {
    return await task()
  } finally {
    await rm(lock, {force: true})
  }
}

/** the path of `command` on the PATH, if it is there and executable */
export function commandOnPath(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    try {
      accessSync(join(dir, command), constants.X_OK)
      return join(dir, command)
    } catch {
      // not here
    }
  }
  return undefined
}
