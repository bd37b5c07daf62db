/**
 * Files the user names on the command line: read only when they are regular files (regular-file.ts:
 * a FIFO or a device would block or never end), within a size a CLI input can sensibly have;
 * written atomically (a temporary file beside the target, then rename), so a reader never sees half a file.
 */
import {randomBytes} from 'node:crypto'
import {rename, rm, writeFile} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import {XccError} from '../../core/errors.js'
import {readRegularFile} from './regular-file.js'

/** an input file larger than this is refused rather than read */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024

/** the text of a regular file (exit 2 naming the path and why not); `what` names it in messages */
export async function readInputFile(path: string, what: string, hint: string): Promise<string> {
  const read = readRegularFile(path, MAX_INPUT_BYTES)
  if (!read.ok) throw new XccError(`cannot read ${what} ${path}: ${read.why}`, {exitCode: 2, hint})
  return read.text
}

/** writes `content` to `path` through a temporary file in the same directory, then renames it */
export async function writeFileAtomic(path: string, content: string, mode = 0o644): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    await writeFile(temp, content, {mode})
    await rename(temp, path)
  } catch (error) {
    await rm(temp, {force: true})
    const code = (error as NodeJS.ErrnoException).code
    throw new XccError(`cannot write ${path}: ${code === 'ENOENT' ? 'its directory does not exist' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : code ?? (error as Error).message}`, {exitCode: 2})
  }
}
