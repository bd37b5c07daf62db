/**
 * The narrower Compute protobuf root (src/adapters/gcp/protos.ts): every service xcc opens keeps
 * every method with its request and response types, each type as the package defines it, and
 * the root is a fraction of the package's.
 */
import assert from 'node:assert/strict'
import {createRequire} from 'node:module'
import {describe, it} from 'node:test'

import {COMPUTE_SERVICES, narrowGax, narrowProtos} from '../../../src/adapters/gcp/protos.js'

const require = createRequire(import.meta.url)
type Json = Record<string, unknown>
interface PbType {fieldsArray: Array<{name: string; type: string; resolvedType: {fullName: string} | null}>; fullName: string}
interface PbService {methodsArray: Array<{name: string; resolve(): {resolvedRequestType: PbType | null; resolvedResponseType: PbType | null}}>}
interface PbRoot {lookupService(name: string): PbService; lookupType(name: string): PbType; lookup(name: string): unknown}
const protobuf = require('protobufjs') as {Root: {fromJSON(json: Json): PbRoot}}
const full = require('@google-cloud/compute/build/protos/protos.json') as Json
const V1 = 'google.cloud.compute.v1'
const v1Types = (json: Json): string[] => Object.keys(((((json.nested as Json).google as Json).nested as Json).cloud as {nested: {compute: {nested: Record<string, {nested: Json}>}}}).nested.compute.nested.v1?.nested ?? {})

describe('the narrower Compute protobuf root', () => {
  const narrow = narrowProtos(full, COMPUTE_SERVICES) as Json
  const root = protobuf.Root.fromJSON(narrow)
  const whole = protobuf.Root.fromJSON(full)

  it('keeps every method of every service xcc opens, with its request and response types as the package has them', () => {
    let methods = 0
    for (const service of COMPUTE_SERVICES) {
      const mine = root.lookupService(`${V1}.${service}`)
      const theirs = whole.lookupService(`${V1}.${service}`)
      assert.deepEqual(mine.methodsArray.map((m) => m.name), theirs.methodsArray.map((m) => m.name), service)
      for (const method of mine.methodsArray) {
        const resolved = method.resolve()
        for (const type of [resolved.resolvedRequestType, resolved.resolvedResponseType]) {
          assert.ok(type, `${service}.${method.name}`)
          const same = whole.lookupType(type.fullName)
          assert.deepEqual(type.fieldsArray.map((f) => [f.name, f.type]), same.fieldsArray.map((f) => [f.name, f.type]), type.fullName)
        }
        methods += 1
      }
    }
    assert.ok(methods > 100, `${methods} methods`)
  })

  it('resolves every field of the resources a snapshot reads down to their leaves', () => {
    const seen = new Set<string>()
    const walk = (type: PbType): void => {
      if (seen.has(type.fullName)) return
      seen.add(type.fullName)
      for (const field of type.fieldsArray) if (field.resolvedType && 'fieldsArray' in field.resolvedType) walk(field.resolvedType as PbType)
    }
    for (const name of ['Route', 'Firewall', 'Network', 'Subnetwork', 'Instance', 'InstanceGroup', 'HealthCheck', 'BackendService', 'ForwardingRule', 'Operation']) walk(root.lookupType(`${V1}.${name}`))
    assert.ok(seen.size > 20)
  })

  it('is a fraction of the package\'s v1 and leaves its other versions out', () => {
    const kept = v1Types(narrow).length
    assert.ok(kept < v1Types(full).length / 3, `${kept} of ${v1Types(full).length} types`)
    assert.equal(root.lookup('google.cloud.compute.v1beta'), null)
  })

  it('is not made for a service outside the list: that client gets the package\'s root', () => {
    assert.equal(narrowProtos(full, ['Networks', 'NoSuchService']), undefined)
    assert.equal(narrowProtos({nested: {}}, ['Networks']), undefined)
  })

  it('is what a Compute client of a listed service is built on, once per process', async () => {
    const gax = await narrowGax()
    const one = new gax.fallback.GrpcClient({}).loadProtoJSON(full)
    const two = new gax.fallback.GrpcClient({}).loadProtoJSON(full)
    assert.equal(one, two)
    assert.equal((one as PbRoot).lookup('google.cloud.compute.v1beta'), null)
  })
})
