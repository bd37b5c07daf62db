/**
 * src/adapters/files/kubeconfig-file.ts: client-go's lock (`<file>.lock`, created exclusively) is
 * waited for and released, a lock held too long is exit 3 naming it; kubeconfigs are written 0600;
 * an unwritable path is exit 2 before anything else happens.
 */
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {checkWritable, mergeDestination, withKubeconfigLock, writeKubeconfig} from '../../../src/adapters/files/kubeconfig-file.js'
import {XccError} from '../../../src/core/errors.js'

describe('kubeconfig files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xcc-kcfile-'))
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('waits for a lock another writer holds, then takes and releases it', async () => {
    const file = join(dir, 'config')
    writeFileSync(`${file}.lock`, '')
    const started = Date.now()
    setTimeout(() => rmSync(`${file}.lock`), 300)
    let heldDuring = false
    await withKubeconfigLock(file, async () => {
      heldDuring = existsSync(`${file}.lock`)
    })
    assert.ok(Date.now() - started >= 280, 'it waited for the other writer')
    assert.ok(heldDuring)
    assert.equal(existsSync(`${file}.lock`), false, 'released')
  })

  it('runs one holder at a time', async () => {
    const file = join(dir, 'serial')
    let inside = 0
    let most = 0
    await Promise.all(Array.from({length: 5}, () => withKubeconfigLock(file, async () => {
      inside += 1
      most = Math.max(most, inside)
      await new Promise((resolve) => setTimeout(resolve, 20))
      inside -= 1
    })))
    assert.equal(most, 1)
  })

  it('a lock held past the wait is exit 3 naming it; the lock is released after a failure too', async () => {
    const file = join(dir, 'stuck')
    writeFileSync(`${file}.lock`, '')
    await assert.rejects(withKubeconfigLock(file, async () => undefined, 200), (e: unknown) => e instanceof XccError && e.exitCode === 3 && e.message.includes(`${file}.lock`))
    rmSync(`${file}.lock`)
    await assert.rejects(withKubeconfigLock(file, async () => {
      throw new Error('boom')
    }), /boom/)
    assert.equal(existsSync(`${file}.lock`), false)
  })

  it('merges into the file kubectl would: of several KUBECONFIG files the first that exists, else the last', () => {
    const [a, b, c] = ['a', 'b', 'c'].map((n) => join(dir, `dest-${n}`)) as [string, string, string]
    assert.equal(mergeDestination([a]), a)
    assert.equal(mergeDestination([a, b, c]), c)
    writeFileSync(b, '')
    assert.equal(mergeDestination([a, b, c]), b)
    writeFileSync(a, '')
    assert.equal(mergeDestination([a, b, c]), a)
  })

  it('writes 0600; an unwritable path is exit 2', async () => {
    const file = join(dir, 'written')
    writeFileSync(file, 'old', {mode: 0o644})
    await writeKubeconfig(file, 'apiVersion: v1\n')
    assert.equal(statSync(file).mode & 0o777, 0o600)
    await assert.rejects(checkWritable(join(dir, 'missing', 'x'), {createDirectory: false}), (e: unknown) => e instanceof XccError && e.exitCode === 2 && /its directory does not exist/.test(e.message))
    await assert.rejects(checkWritable(dir, {createDirectory: false}), (e: unknown) => e instanceof XccError && e.exitCode === 2)
    await checkWritable(join(dir, 'new', 'config'), {createDirectory: true})
  })
})
