/** The node scripts shipped in templates/probe and templates/masquerade, read from the package. */
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import type {MasqueradeScripts} from '../../core/masquerade/scripts.js'
import type {ProbeScripts} from '../../core/probe/manifests.js'

const PROBE_TEMPLATES = fileURLToPath(new URL('../../../templates/probe/', import.meta.url))
const MASQUERADE_TEMPLATES = fileURLToPath(new URL('../../../templates/masquerade/', import.meta.url))

/** a script with the shared iptables-flavour detection put in at its `#@flavour` line */
function loadScript(file: string): string {
  const text = readFileSync(file, 'utf8')
  if (!text.includes('#@flavour')) return text
  return text.replace('#@flavour\n', readFileSync(`${PROBE_TEMPLATES}iptables-flavour.sh`, 'utf8'))
}

export function loadProbeScripts(): ProbeScripts {
  return {
    capture: loadScript(`${PROBE_TEMPLATES}capture.sh`),
    probe: loadScript(`${PROBE_TEMPLATES}probe.sh`),
  }
}

export function loadMasqueradeScripts(): MasqueradeScripts {
  return {
    daemon: loadScript(`${MASQUERADE_TEMPLATES}xcc-masquerade.sh`),
    nodeRules: loadScript(`${MASQUERADE_TEMPLATES}node-rules.sh`),
  }
}
