/**
 * Discovery documents (`/version`, `/api`, `/apis`, `/api/v1`, `/apis/<group>[/<version>]`) in
 * their legacy (unaggregated) JSON form, built from the resource registry.
 */
import {apiVersionOf, type ResourceRegistry, type ResourceType} from '../resources.js'

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-xcc',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
}

export function apiVersions(serverAddress: string): unknown {
  return {kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{clientCIDR: '0.0.0.0/0', serverAddress}]}
}

function groupDocument(group: string, versions: readonly string[]): Record<string, unknown> {
  const list = versions.map((version) => ({groupVersion: `${group}/${version}`, version}))
  return {name: group, versions: list, preferredVersion: list[0]}
}

export function apiGroupList(registry: ResourceRegistry): unknown {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: registry
      .groups()
      .filter((g) => g.group !== '')
      .map((g) => groupDocument(g.group, g.versions)),
  }
}

export function apiGroup(registry: ResourceRegistry, group: string): unknown | undefined {
  const found = registry.groups().find((g) => g.group === group && group !== '')
  return found ? {kind: 'APIGroup', apiVersion: 'v1', ...groupDocument(found.group, found.versions)} : undefined
}

function resourceEntries(type: ResourceType): unknown[] {
  const main: Record<string, unknown> = {
    name: type.resource,
    singularName: type.singular,
    namespaced: type.namespaced,
    kind: type.kind,
    verbs: type.verbs,
  }
  if (type.shortNames.length > 0) main.shortNames = type.shortNames
  if (type.categories.length > 0) main.categories = type.categories
  const subs = Object.entries(type.subresources).map(([name, sub]) => {
    const entry: Record<string, unknown> = {name: `${type.resource}/${name}`, singularName: '', namespaced: type.namespaced, kind: sub.kind, verbs: sub.verbs}
    if (sub.group !== undefined) entry.group = sub.group
    if (sub.version !== undefined) entry.version = sub.version
    return entry
  })
  return [main, ...subs]
}

export function apiResourceList(registry: ResourceRegistry, group: string, version: string): unknown | undefined {
  const types = registry.inGroupVersion(group, version)
  if (types.length === 0) return undefined
  return {kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({group, version}), resources: types.flatMap(resourceEntries)}
}
