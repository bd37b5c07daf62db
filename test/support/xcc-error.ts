/** Asserting a user error: an XccError with exit code 2 whose message matches every pattern. */
import assert from 'node:assert/strict'

import {XccError} from '../../src/core/errors.js'

export function assertBadInput(fn: () => unknown, ...patterns: RegExp[]): XccError {
  let caught: unknown
  try {
    fn()
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof XccError, `expected an XccError, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`)
  assert.equal(caught.exitCode, 2)
  for (const p of patterns) assert.match(caught.message, p)
  return caught
}
