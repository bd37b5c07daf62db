import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {ApiError} from '../../../src/lab/kube/errors.js'
import {decodeProtobufObject} from '../../../src/lab/kube/http/protobuf.js'

// bodies as kubectl 1.32 sends them (`kubectl create namespace nsone`, `create configmap cmone
// -n ns1 --from-literal=ka=va`, `create secret generic secone --from-literal=ks=vs`,
// `create service clusterip svcone --tcp=80:8080`)
const NAMESPACE = '6b3873000a0f0a02763112094e616d657370616365121d0a150a056e736f6e6512001a0022002a0032003800420012001a020a001a002200'
const CONFIGMAP = '6b3873000a0f0a0276311209436f6e6669674d617012240a180a05636d6f6e6512001a036e733122002a0032003800420012080a026b61120276611a002200'
const SECRET = '6b3873000a0c0a027631120653656372657412240a160a067365636f6e6512001a0022002a0032003800420012080a026b73120276731a001a002200'
const SERVICE =
  '6b3873000a0d0a02763112075365727669636512720a250a067376636f6e6512001a0022002a003200380042005a0d0a0361707012067376636f6e6512450a1b0a0738302d38303830120354435018502207080010903f1a002800120d0a0361707012067376636f6e651a002209436c757374657249503a00420052005a00600068001a020a001a002200'

function varint(n: number): Buffer {
  const bytes: number[] = []
  do {
    bytes.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0))
    n >>>= 7
  } while (n > 0)
  return Buffer.from(bytes)
}

/** A length-delimited protobuf field. */
function field(no: number, bytes: Buffer): Buffer {
  return Buffer.concat([varint(no * 8 + 2), varint(bytes.length), bytes])
}

function envelope(apiVersion: string, kind: string, raw: Buffer): Buffer {
  const typeMeta = field(1, Buffer.concat([field(1, Buffer.from(apiVersion)), field(2, Buffer.from(kind))]))
  return Buffer.concat([Buffer.from('k8s\0'), typeMeta, field(2, raw)])
}

const decode = (hex: string): Record<string, unknown> => decodeProtobufObject(Buffer.from(hex, 'hex'))

describe('protobuf request bodies', () => {
  it('decodes what kubectl create sends, without the empty values', () => {
    assert.deepEqual(decode(NAMESPACE), {apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'nsone'}})
    assert.deepEqual(decode(CONFIGMAP), {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'cmone', namespace: 'ns1'}, data: {ka: 'va'}})
    assert.deepEqual(decode(SECRET), {apiVersion: 'v1', kind: 'Secret', metadata: {name: 'secone'}, data: {ks: Buffer.from('vs').toString('base64')}})
    assert.deepEqual(decode(SERVICE), {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {name: 'svcone', labels: {app: 'svcone'}},
      spec: {ports: [{name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080}], selector: {app: 'svcone'}, type: 'ClusterIP'},
    })
  })

  it('refuses what it cannot decode, saying to send JSON', () => {
    const refused = (e: unknown): boolean => e instanceof ApiError && e.code === 415 && /send it as JSON/.test(e.message)
    assert.throws(() => decodeProtobufObject(Buffer.from('not protobuf')), refused)
    const pod = envelope('v1', 'Pod', field(1, field(1, Buffer.from('p'))))
    assert.throws(() => decodeProtobufObject(pod), refused)
    const strange = envelope('v1', 'Namespace', field(1, Buffer.concat([field(1, Buffer.from('x')), field(99, Buffer.from('boom'))])))
    assert.throws(() => decodeProtobufObject(strange), (e: unknown) => refused(e) && /field 99 of metadata/.test((e as Error).message))
    const emptyUnknown = envelope('v1', 'Namespace', field(1, Buffer.concat([field(1, Buffer.from('x')), field(99, Buffer.alloc(0))])))
    assert.deepEqual(decodeProtobufObject(emptyUnknown), {apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'x'}}, 'empty unknown fields are ignored')
  })
})
