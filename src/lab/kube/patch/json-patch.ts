/** JSON patch (RFC 6902) over JSON pointers (RFC 6901): add, remove, replace, move, copy, test. */
import {ApiError, badRequest} from '../errors.js'
import {isPlainObject, jsonEqual} from '../types.js'

export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test'
  path: string
  from?: string
  value?: unknown
}

function patchError(message: string): ApiError {
  return new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${message}`)
}

export function parsePointer(pointer: string): string[] {
  if (pointer === '') return []
  if (!pointer.startsWith('/')) throw patchError(`invalid JSON pointer "${pointer}": it must start with /`)
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'))
}

function arrayIndex(container: unknown[], token: string, forInsert: boolean): number {
  if (token === '-' && forInsert) return container.length
  if (!/^(0|[1-9]\d*)$/.test(token)) throw patchError(`invalid array index "${token}"`)
  const index = Number(token)
  if (index > container.length || (!forInsert && index === container.length)) throw patchError(`array index ${index} out of bounds`)
  return index
}

function get(document: unknown, tokens: readonly string[], pointer: string): unknown {
  let current = document
  for (const token of tokens) {
    if (Array.isArray(current)) current = current[arrayIndex(current, token, false)]
    else if (isPlainObject(current) && Object.prototype.hasOwnProperty.call(current, token)) current = current[token]
    else throw patchError(`doc is missing path: "${pointer}"`)
  }
  return current
}

/** The container that holds the last token, which must exist. */
function parentOf(document: unknown, tokens: readonly string[], pointer: string): unknown {
  return get(document, tokens.slice(0, -1), pointer)
}

function add(document: unknown, tokens: readonly string[], value: unknown, pointer: string): unknown {
  if (tokens.length === 0) return value
  const parent = parentOf(document, tokens, pointer)
  const last = tokens[tokens.length - 1]!
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true), 0, value)
  else if (isPlainObject(parent)) {
    if (last === '__proto__') throw patchError('invalid key __proto__')
    parent[last] = value
  } else throw patchError(`doc is missing path: "${pointer}"`)
  return document
}

function remove(document: unknown, tokens: readonly string[], pointer: string): unknown {
  if (tokens.length === 0) throw patchError('cannot remove the whole document')
  const parent = parentOf(document, tokens, pointer)
  const last = tokens[tokens.length - 1]!
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, false), 1)
  else if (isPlainObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) delete parent[last]
  else throw patchError(`unable to remove nonexistent key: ${last}: missing value`)
  return document
}

export function applyJsonPatch(document: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw badRequest('a JSON patch must be an array of operations')
  let doc = structuredClone(document)
  for (const raw of operations) {
    if (!isPlainObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw badRequest('each JSON patch operation needs string "op" and "path"')
    }
    const op = raw as unknown as JsonPatchOperation
    const tokens = parsePointer(op.path)
    switch (op.op) {
      case 'add':
        if (!('value' in raw)) throw patchError('add operation needs a value')
        doc = add(doc, tokens, structuredClone(op.value), op.path)
        break
      case 'remove':
        doc = remove(doc, tokens, op.path)
        break
      case 'replace':
        if (!('value' in raw)) throw patchError('replace operation needs a value')
        get(doc, tokens, op.path)
        doc = tokens.length === 0 ? structuredClone(op.value) : add(remove(doc, tokens, op.path), tokens, structuredClone(op.value), op.path)
        break
      case 'move':
      case 'copy': {
        if (typeof op.from !== 'string') throw patchError(`${op.op} operation needs "from"`)
        const fromTokens = parsePointer(op.from)
        const value = structuredClone(get(doc, fromTokens, op.from))
        if (op.op === 'move') {
          if (op.path.startsWith(`${op.from}/`)) throw patchError('cannot move a value into one of its children')
          doc = remove(doc, fromTokens, op.from)
        }
        doc = add(doc, tokens, value, op.path)
        break
      }
      case 'test':
        if (!jsonEqual(get(doc, tokens, op.path), op.value)) throw patchError(`testing value ${op.path} failed`)
        break
      default:
        throw badRequest(`unknown JSON patch operation "${String((raw as {op: unknown}).op)}"`)
    }
  }
  return doc
}
