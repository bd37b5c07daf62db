/**
 * Kubernetes protobuf request bodies, for the kinds kubectl's typed clients send that way
 * (`kubectl create namespace|configmap|secret|serviceaccount|service|token|role|clusterrole|
 * rolebinding|clusterrolebinding`, `kubectl auth can-i [--list]|whoami`). A body is the magic `k8s\0` then a runtime.Unknown message (typeMeta, raw);
 * `raw` is decoded with the field numbers below into the object's JSON form, dropping the empty
 * values Go writes for every field. A field this table does not know is an error when it holds
 * a value (415, saying to send JSON), never silently lost. Responses are always JSON, which
 * those clients accept.
 */
import {ApiError} from '../errors.js'

type Kind = 'string' | 'bytes' | 'int' | 'bool' | 'stringMap' | 'bytesMap' | 'intOrString' | 'ignore'
interface FieldSpec {
  name: string
  type: Kind | Schema
  repeated?: boolean
}
interface Schema {
  [field: number]: FieldSpec
}

const str = (name: string): FieldSpec => ({name, type: 'string'})
const int = (name: string): FieldSpec => ({name, type: 'int'})
const bool = (name: string): FieldSpec => ({name, type: 'bool'})
const ignore = (name: string): FieldSpec => ({name, type: 'ignore'})
const message = (name: string, schema: Schema, repeated = false): FieldSpec => ({name, type: schema, repeated})

const objectMeta: Schema = {
  1: str('name'),
  2: str('generateName'),
  3: str('namespace'),
  4: ignore('selfLink'),
  5: str('uid'),
  6: str('resourceVersion'),
  7: int('generation'),
  8: ignore('creationTimestamp'),
  9: ignore('deletionTimestamp'),
  10: int('deletionGracePeriodSeconds'),
  11: {name: 'labels', type: 'stringMap'},
  12: {name: 'annotations', type: 'stringMap'},
  14: {name: 'finalizers', type: 'string', repeated: true},
  17: ignore('managedFields'),
}

const objectReference: Schema = {1: str('kind'), 2: str('namespace'), 3: str('name'), 4: str('uid'), 5: str('apiVersion'), 6: str('resourceVersion'), 7: str('fieldPath')}

const servicePort: Schema = {1: str('name'), 2: str('protocol'), 3: int('port'), 4: {name: 'targetPort', type: 'intOrString'}, 5: int('nodePort'), 6: str('appProtocol')}

const strings = (name: string): FieldSpec => ({name, type: 'string', repeated: true})
const policyRule: Schema = {1: strings('verbs'), 2: strings('apiGroups'), 3: strings('resources'), 4: strings('resourceNames'), 5: strings('nonResourceURLs')}
const labelSelector: Schema = {1: {name: 'matchLabels', type: 'stringMap'}, 2: message('matchExpressions', {1: str('key'), 2: str('operator'), 3: strings('values')}, true)}
const binding: Schema = {
  1: message('metadata', objectMeta),
  2: message('subjects', {1: str('kind'), 2: str('apiGroup'), 3: str('name'), 4: str('namespace')}, true),
  3: message('roleRef', {1: str('apiGroup'), 2: str('kind'), 3: str('name')}),
}
const resourceAttributes: Schema = {1: str('namespace'), 2: str('verb'), 3: str('group'), 4: str('version'), 5: str('resource'), 6: str('subresource'), 7: str('name'), 8: ignore('fieldSelector'), 9: ignore('labelSelector')}
const nonResourceAttributes: Schema = {1: str('path'), 2: str('verb')}
const subjectAccessReview: Schema = {
  1: message('metadata', objectMeta),
  2: message('spec', {1: message('resourceAttributes', resourceAttributes), 2: message('nonResourceAttributes', nonResourceAttributes), 3: str('user'), 4: strings('groups'), 5: ignore('extra'), 6: str('uid')}),
  3: ignore('status'),
}

const KINDS: Readonly<Record<string, Schema>> = {
  'rbac.authorization.k8s.io/v1/Role': {1: message('metadata', objectMeta), 2: message('rules', policyRule, true)},
  'rbac.authorization.k8s.io/v1/ClusterRole': {1: message('metadata', objectMeta), 2: message('rules', policyRule, true), 3: message('aggregationRule', {1: message('clusterRoleSelectors', labelSelector, true)})},
  'rbac.authorization.k8s.io/v1/RoleBinding': binding,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': binding,
  'authorization.k8s.io/v1/SelfSubjectAccessReview': {
    1: message('metadata', objectMeta),
    2: message('spec', {1: message('resourceAttributes', resourceAttributes), 2: message('nonResourceAttributes', nonResourceAttributes)}),
    3: ignore('status'),
  },
  'authorization.k8s.io/v1/SubjectAccessReview': subjectAccessReview,
  'authorization.k8s.io/v1/LocalSubjectAccessReview': subjectAccessReview,
  'authorization.k8s.io/v1/SelfSubjectRulesReview': {1: message('metadata', objectMeta), 2: message('spec', {1: str('namespace')}), 3: ignore('status')},
  'v1/Namespace': {1: message('metadata', objectMeta), 2: message('spec', {1: {name: 'finalizers', type: 'string', repeated: true}}), 3: ignore('status')},
  'v1/ConfigMap': {1: message('metadata', objectMeta), 2: {name: 'data', type: 'stringMap'}, 3: {name: 'binaryData', type: 'bytesMap'}, 4: bool('immutable')},
  'v1/Secret': {1: message('metadata', objectMeta), 2: {name: 'data', type: 'bytesMap'}, 3: str('type'), 4: {name: 'stringData', type: 'stringMap'}, 5: bool('immutable')},
  'v1/ServiceAccount': {
    1: message('metadata', objectMeta),
    2: message('secrets', objectReference, true),
    3: message('imagePullSecrets', {1: str('name')}, true),
    4: bool('automountServiceAccountToken'),
  },
  'v1/Service': {
    1: message('metadata', objectMeta),
    2: message('spec', {
      1: message('ports', servicePort, true),
      2: {name: 'selector', type: 'stringMap'},
      3: str('clusterIP'),
      4: str('type'),
      5: {name: 'externalIPs', type: 'string', repeated: true},
      7: str('sessionAffinity'),
      8: str('loadBalancerIP'),
      10: str('externalName'),
      11: str('externalTrafficPolicy'),
      12: int('healthCheckNodePort'),
      13: bool('publishNotReadyAddresses'),
    }),
    3: ignore('status'),
  },
  'authentication.k8s.io/v1/TokenRequest': {
    1: message('metadata', objectMeta),
    2: message('spec', {1: {name: 'audiences', type: 'string', repeated: true}, 3: message('boundObjectRef', {1: str('kind'), 2: str('apiVersion'), 3: str('name'), 4: str('uid')}), 4: int('expirationSeconds')}),
    3: ignore('status'),
  },
}

/** Kinds whose body the server does not read (the review answers from the request's user alone). */
const BODY_IGNORED = new Set(['authentication.k8s.io/v1/SelfSubjectReview'])

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00])

interface WireField {
  no: number
  wire: number
  varint?: number
  bytes?: Buffer
}

function unsupported(detail: string): ApiError {
  return new ApiError(415, 'UnsupportedMediaType', `the xcc lab's API server cannot decode this protobuf body (${detail}): send it as JSON, e.g. with kubectl apply -f`)
}

function readFields(buffer: Buffer): WireField[] {
  const fields: WireField[] = []
  let at = 0
  const varint = (): number => {
    let value = 0
    let scale = 1
    for (let i = 0; i < 10; i++) {
      if (at >= buffer.length) throw unsupported('truncated varint')
      const byte = buffer[at++]!
      value += (byte & 0x7f) * scale
      if ((byte & 0x80) === 0) return value
      scale *= 128
    }
    throw unsupported('varint too long')
  }
  while (at < buffer.length) {
    const key = varint()
    const no = Math.floor(key / 8)
    const wire = key % 8
    if (wire === 0) fields.push({no, wire, varint: varint()})
    else if (wire === 2) {
      const length = varint()
      if (at + length > buffer.length) throw unsupported('truncated field')
      fields.push({no, wire, bytes: buffer.subarray(at, at + length)})
      at += length
    } else if (wire === 1 || wire === 5) {
      at += wire === 1 ? 8 : 4
      fields.push({no, wire})
    } else throw unsupported(`wire type ${wire}`)
  }
  return fields
}

function isEmpty(field: WireField): boolean {
  return field.wire === 0 ? field.varint === 0 : field.wire === 2 ? field.bytes!.length === 0 : false
}

function mapEntry(bytes: Buffer): [string, Buffer] {
  let key = ''
  let value: Buffer = Buffer.alloc(0)
  for (const f of readFields(bytes)) {
    if (f.no === 1 && f.bytes) key = f.bytes.toString('utf8')
    else if (f.no === 2 && f.bytes) value = f.bytes
  }
  return [key, value]
}

function decodeValue(field: WireField, spec: FieldSpec, path: string): unknown {
  const type = spec.type
  if (typeof type === 'object') return decodeMessage(field.bytes ?? Buffer.alloc(0), type, path)
  switch (type) {
    case 'string':
      return field.bytes?.toString('utf8') ?? ''
    case 'bytes':
      return (field.bytes ?? Buffer.alloc(0)).toString('base64')
    case 'int':
      return field.varint ?? 0
    case 'bool':
      return field.varint === 1
    case 'intOrString': {
      const parts = decodeMessage(field.bytes ?? Buffer.alloc(0), {1: int('type'), 2: int('intVal'), 3: str('strVal')}, path) as {type?: number; intVal?: number; strVal?: string}
      return parts.type === 1 ? (parts.strVal ?? '') : (parts.intVal ?? 0)
    }
    default:
      return undefined
  }
}

function decodeMessage(bytes: Buffer, schema: Schema, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const field of readFields(bytes)) {
    const spec = schema[field.no]
    if (!spec) {
      if (isEmpty(field)) continue
      throw unsupported(`field ${field.no} of ${path || 'the object'}`)
    }
    if (spec.type === 'ignore') continue
    const where = path ? `${path}.${spec.name}` : spec.name
    if (spec.type === 'stringMap' || spec.type === 'bytesMap') {
      const [key, value] = mapEntry(field.bytes ?? Buffer.alloc(0))
      const map = (out[spec.name] ??= {}) as Record<string, string>
      map[key] = spec.type === 'stringMap' ? value.toString('utf8') : value.toString('base64')
      continue
    }
    const value = decodeValue(field, spec, where)
    if (spec.repeated) {
      ;((out[spec.name] ??= []) as unknown[]).push(value)
      continue
    }
    const empty = value === '' || value === 0 || value === false || (typeof value === 'object' && value !== null && Object.keys(value).length === 0)
    if (!empty) out[spec.name] = value
  }
  return out
}

/** Decodes a `application/vnd.kubernetes.protobuf` body into the object's JSON form. */
export function decodeProtobufObject(body: Buffer): Record<string, unknown> {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) throw unsupported('no k8s protobuf envelope')
  const envelope = decodeMessage(body.subarray(MAGIC.length), {1: message('typeMeta', {1: str('apiVersion'), 2: str('kind')}), 2: {name: 'raw', type: 'bytes'}, 3: str('contentEncoding'), 4: str('contentType')}, 'envelope')
  const typeMeta = (envelope.typeMeta ?? {}) as {apiVersion?: string; kind?: string}
  const key = `${typeMeta.apiVersion}/${typeMeta.kind}`
  const head = {apiVersion: typeMeta.apiVersion, kind: typeMeta.kind}
  if (BODY_IGNORED.has(key)) return head
  const schema = KINDS[key]
  if (!schema) throw unsupported(`kind ${typeMeta.kind ?? '?'} ${typeMeta.apiVersion ?? ''}`.trim())
  const raw = Buffer.from(String(envelope.raw ?? ''), 'base64')
  return {...head, ...decodeMessage(raw, schema, '')}
}
