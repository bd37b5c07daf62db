/**
 * The controllers' work queue: keys merged while they wait, one at a time, and, with a backoff, a
 * key whose handling threw comes back later — at most `max` times in a row; a success forgets.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {WorkQueue} from '../../../src/lab/kube/controllers/queue.js'

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('WorkQueue', () => {
  it('merges a key added again while it waits', async () => {
    const seen: string[] = []
    const queue = new WorkQueue((key) => void seen.push(key))
    for (const key of ['a', 'b', 'a', 'a']) queue.add(key)
    await settle(20)
    assert.deepEqual(seen, ['a', 'b'])
    queue.stop()
  })

  it('with a backoff, handles a failing key again until it succeeds', async () => {
    let calls = 0
    const errors: string[] = []
    const queue = new WorkQueue(() => {
      calls += 1
      if (calls < 3) throw new Error(`conflict ${calls}`)
    }, (_key, error) => void errors.push((error as Error).message), {max: 5, baseMs: 1})
    queue.add('svc')
    await settle(100)
    assert.equal(calls, 3, 'two failures, then the success')
    assert.deepEqual(errors, ['conflict 1', 'conflict 2'])
    queue.stop()
  })

  it('gives up after max failures in a row, and without a backoff does not retry at all', async () => {
    let calls = 0
    const queue = new WorkQueue(() => {
      calls += 1
      throw new Error('always')
    }, undefined, {max: 2, baseMs: 1})
    queue.add('svc')
    await settle(100)
    assert.equal(calls, 3, 'the first try and two more')
    queue.stop()
    let once = 0
    const plain = new WorkQueue(() => {
      once += 1
      throw new Error('always')
    })
    plain.add('svc')
    await settle(50)
    assert.equal(once, 1)
    plain.stop()
  })

  it('a stopped queue takes no retry', async () => {
    let calls = 0
    const queue = new WorkQueue(() => {
      calls += 1
      throw new Error('always')
    }, undefined, {max: 5, baseMs: 20})
    queue.add('svc')
    await settle(5)
    queue.stop()
    await settle(150)
    assert.equal(calls, 1)
  })
})
