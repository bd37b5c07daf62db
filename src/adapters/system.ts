/** The real clock and the probe scripts shipped in templates/probe. */
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import type {Clock} from '../core/ports.js'
import type {ProbeScripts} from '../core/probe/manifests.js'

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, {once: true})
  }),
}

const PROBE_TEMPLATES = fileURLToPath(new URL('../../templates/probe/', import.meta.url))

export function loadProbeScripts(): ProbeScripts {
  return {
    capture: readFileSync(`${PROBE_TEMPLATES}capture.sh`, 'utf8'),
    probe: readFileSync(`${PROBE_TEMPLATES}probe.sh`, 'utf8'),
  }
}
