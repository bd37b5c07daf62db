/**
 * The least OpenAPI v3 that kubectl needs: `kubectl apply` (and create/replace) with its default
 * `--validate=strict` asks OpenAPI whether the server supports server-side field validation
 * (a `fieldValidation` query parameter on the kind's PATCH operation); when it does, kubectl
 * skips client-side schema validation. No schemas are served, so kubectl computes apply patches
 * from its built-in types, and OpenAPI v2 is not served at all (404).
 */
import {createHash} from 'node:crypto'

import type {ResourceRegistry, ResourceType} from '../resources.js'

function groupVersionPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`
}

function queryParameter(name: string): unknown {
  return {name, in: 'query', schema: {type: 'string', uniqueItems: true}}
}

function operation(type: ResourceType, action: string): unknown {
  return {
    operationId: `${action}${type.kind}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': {group: type.group, version: type.version, kind: type.kind},
    parameters: [queryParameter('dryRun'), queryParameter('fieldManager'), queryParameter('fieldValidation')],
    responses: {'200': {description: 'OK'}},
  }
}

function document(registry: ResourceRegistry, group: string, version: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {}
  for (const type of registry.inGroupVersion(group, version)) {
    if (type.virtual) continue
    const base = `/${groupVersionPath(group, version)}${type.namespaced ? '/namespaces/{namespace}' : ''}/${type.resource}`
    paths[base] = {post: operation(type, 'post')}
    paths[`${base}/{name}`] = {put: operation(type, 'put'), patch: operation(type, 'patch')}
  }
  return {openapi: '3.0.0', info: {title: 'Kubernetes (xcc lab)', version: 'v1.32.0'}, paths, components: {schemas: {}}}
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32).toUpperCase()
}

export function openApiV3Root(registry: ResourceRegistry): unknown {
  const paths: Record<string, unknown> = {}
  for (const {group, versions} of registry.groups()) {
    for (const version of versions) {
      const path = groupVersionPath(group, version)
      paths[path] = {serverRelativeURL: `/openapi/v3/${path}?hash=${hashOf(document(registry, group, version))}`}
    }
  }
  return {paths}
}

/** The document of one group version (`api/v1`, `apis/apps/v1`), or undefined. */
export function openApiV3Document(registry: ResourceRegistry, path: string): unknown {
  for (const {group, versions} of registry.groups()) {
    for (const version of versions) if (groupVersionPath(group, version) === path) return document(registry, group, version)
  }
  return undefined
}

/** OpenAPI v2 is not served: kubectl asks for it in protobuf and copes without it. */
export function openApiV2(_registry: ResourceRegistry): unknown {
  return undefined
}
