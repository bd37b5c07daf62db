import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {CHECKS} from '../../src/checks/index.js'
import {evaluateDoctorTo} from '../../src/core/doctor/dns.js'
import type {DoctorReport} from '../../src/core/doctor/report.js'
import type {Model} from '../../src/core/topology/model-types.js'
import {parseTopology} from '../../src/core/topology/parse.js'

export const TOPOLOGIES = fileURLToPath(new URL('../fixtures/topologies/', import.meta.url))

export function topologyPath(name: string): string {
  return `${TOPOLOGIES}${name}.yaml`
}

const cache = new Map<string, Model>()

/** Loads test/fixtures/topologies/<name>.yaml through the real loader (cached per test process). */
export function loadFixture(name: string): Model {
  let model = cache.get(name)
  if (!model) cache.set(name, (model = parseTopology(readFileSync(topologyPath(name), 'utf8'), `${name}.yaml`)))
  return model
}

export function doctorFixture(name: string, from: string, to: string, options: 'tcp' | 'udp' | {protocol?: 'tcp' | 'udp'; contexts?: readonly string[]} = {}): DoctorReport {
  const {protocol, contexts} = typeof options === 'string' ? {protocol: options, contexts: undefined} : options
  const model = loadFixture(name)
  return evaluateDoctorTo(model, from, to, protocol, CHECKS, contexts ? {contexts} : {})
}
