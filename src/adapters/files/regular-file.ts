/**
 * Reads a file the user named, refusing at once what is not a regular file: a FIFO would block
 * the read until someone writes (forever), /dev/zero or /dev/urandom never end, a directory or a
 * socket is not a file at all. The path is opened without blocking (O_NONBLOCK: opening a FIFO
 * does not wait for a writer) and the open descriptor is checked, so a path swapped after the
 * check cannot slip through, and at most `maxBytes` are read even from a file that grows.
 */
import {closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats} from 'node:fs'

export type FileRead =
  | {readonly ok: true; readonly text: string}
  | {readonly ok: false; readonly code: 'missing' | 'denied' | 'not-regular' | 'too-large' | 'error'; readonly why: string}

/** what a path is, for "… is a FIFO, not a regular file" */
export function describeFileType(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory'
  if (stats.isFIFO()) return 'a named pipe (FIFO)'
  if (stats.isCharacterDevice()) return 'a character device'
  if (stats.isBlockDevice()) return 'a block device'
  if (stats.isSocket()) return 'a socket'
  if (stats.isFile()) return 'a regular file'
  return 'not a regular file'
}

export function formatSize(bytes: number): string {
  return bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} bytes`
}

/** Reads `path` as UTF-8 when it is a regular file of at most `maxBytes` bytes; says why not otherwise. */
export function readRegularFile(path: string, maxBytes: number): FileRead {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY)
  } catch (error) {
    return openFailure(path, error as NodeJS.ErrnoException)
  }
  try {
    const stats = fstatSync(fd)
    if (!stats.isFile()) return {ok: false, code: 'not-regular', why: `it is ${describeFileType(stats)}, not a regular file`}
    if (stats.size > maxBytes) return tooLarge(stats.size, maxBytes)
    // read to the end, but never more than maxBytes + 1 (a file growing meanwhile, a /proc file of size 0)
    const chunks: Buffer[] = []
    let total = 0
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(Math.max(stats.size - total, 64 * 1024), maxBytes + 1 - total))
      const read = readSync(fd, chunk, 0, chunk.length, null)
      if (read === 0) break
      chunks.push(read === chunk.length ? chunk : chunk.subarray(0, read))
      total += read
      if (total > maxBytes) return tooLarge(total, maxBytes, true)
    }
    return {ok: true, text: Buffer.concat(chunks, total).toString('utf8')}
  } catch (error) {
    return {ok: false, code: 'error', why: describeError(error as NodeJS.ErrnoException)}
  } finally {
    closeSync(fd)
  }
}

function tooLarge(size: number, maxBytes: number, atLeast = false): FileRead {
  return {ok: false, code: 'too-large', why: `it is ${atLeast ? 'more than ' : ''}${formatSize(size)}, larger than the limit of ${formatSize(maxBytes)}`}
}

function openFailure(path: string, error: NodeJS.ErrnoException): FileRead {
  if (error.code === 'ENOENT') return {ok: false, code: 'missing', why: 'no such file'}
  if (error.code === 'EACCES' || error.code === 'EPERM') return {ok: false, code: 'denied', why: 'permission denied'}
  // a Unix socket cannot be opened (ENXIO); a FIFO or device without a reader/driver neither
  if (error.code === 'ENXIO' || error.code === 'ENODEV' || error.code === 'EOPNOTSUPP') {
    try {
      return {ok: false, code: 'not-regular', why: `it is ${describeFileType(statSync(path))}, not a regular file`}
    } catch {
      // gone meanwhile: say what open said
    }
  }
  return {ok: false, code: 'error', why: describeError(error)}
}

function describeError(error: NodeJS.ErrnoException): string {
  if (error.code === 'EISDIR') return 'it is a directory, not a regular file'
  return error.code ?? error.message
}
