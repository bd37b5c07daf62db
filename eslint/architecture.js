// The architecture's arrows as a lint rule (see docs/architecture.md): each zone is a folder of
// src/ and what its files must not import. Relative specifiers are resolved against the importing
// file, so `../runtime/x.js` from src/lab/compile is caught as src/lab/runtime, whatever the depth.
import {dirname, relative, resolve} from 'node:path'

function matchesPackage(specifier, pattern) {
  if (pattern.endsWith('/*')) return specifier.startsWith(pattern.slice(0, -1))
  return specifier === pattern || specifier.startsWith(`${pattern}/`)
}

function inFolder(path, folder) {
  return path === folder || path.startsWith(`${folder}/`)
}

const rule = {
  meta: {
    type: 'problem',
    docs: {description: 'imports must follow the architecture (commands → app → checks/render → core ← adapters; the lab beside)'},
    schema: [{type: 'object', properties: {root: {type: 'string'}, zones: {type: 'array'}}, additionalProperties: false}],
    messages: {forbidden: '{{what}} may not import {{target}}: {{why}}'},
  },
  create(context) {
    const {root, zones} = context.options[0]
    const file = relative(root, context.filename).split('\\').join('/')
    const active = zones.filter((z) => inFolder(file, z.zone))
    if (active.length === 0) return {}
    const check = (node, specifier) => {
      if (typeof specifier !== 'string') return
      const local = specifier.startsWith('.')
      const target = local ? relative(root, resolve(dirname(context.filename), specifier)).split('\\').join('/') : specifier
      for (const z of active) {
        const hit = local
          ? (z.forbid ?? []).find((f) => inFolder(target, f))
          : (z.packages ?? []).find((p) => matchesPackage(specifier, p))
        if (hit && !(z.except ?? []).some((e) => inFolder(target, e))) {
          context.report({node, messageId: 'forbidden', data: {what: z.zone, target: local ? target : specifier, why: z.why}})
          return
        }
      }
    }
    return {
      ImportDeclaration: (node) => check(node.source, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node.source, node.source.value),
      ExportAllDeclaration: (node) => check(node.source, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value),
    }
  },
}

export default {rules: {architecture: rule}}
