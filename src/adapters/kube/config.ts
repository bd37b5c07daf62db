/**
 * Finds and reads the user's kubeconfig the way kubectl does (client-go's loading rules):
 * an explicit path must exist; otherwise every file listed in KUBECONFIG that exists is
 * merged — the first file to define a cluster, user or context name wins, and the first
 * file that sets current-context decides it; otherwise ~/.kube/config.
 *
 * We do not call client-node's `loadFromDefault()`: with no kubeconfig it silently points at
 * http://localhost:8080, it throws on a missing file in KUBECONFIG (kubectl skips it) and on
 * a name that two files define (kubectl keeps the first). Each file is still parsed by
 * client-node (`loadFromString` + `makePathsAbsolute`), so entries mean what they mean there.
 */
import {homedir} from 'node:os'
import {delimiter, dirname, join, resolve} from 'node:path'

import type * as K8s from '@kubernetes/client-node'
import yaml from 'js-yaml'

import {describeBounds, documentBounds} from '../../core/document-bounds.js'
import {XccError} from '../../core/errors.js'
import {readRegularFile} from '../files/regular-file.js'

export type ClientNode = typeof K8s

/**
 * What a kubeconfig may ask of xcc: real ones are kilobytes (a large fleet's, a few megabytes),
 * nest 6 levels and hold thousands of values. The limits keep a FIFO, /dev/zero or a YAML alias
 * bomb from hanging the command or exhausting the memory.
 */
export const KUBECONFIG_LIMITS = {maxBytes: 16 * 2 ** 20, maxDepth: 32, maxValues: 1_000_000} as const

export interface KubeconfigLocation {
  /** where the paths came from: given explicitly, the KUBECONFIG list, or the default */
  readonly origin: 'explicit' | 'KUBECONFIG' | 'default'
  readonly paths: readonly string[]
}

/** The merged kubeconfig: entries by name in first-definition order. */
export interface MergedKubeconfig {
  readonly location: KubeconfigLocation
  /** the files that exist and were read */
  readonly files: readonly string[]
  readonly clusters: ReadonlyMap<string, K8s.Cluster>
  readonly users: ReadonlyMap<string, K8s.User>
  readonly contexts: ReadonlyMap<string, K8s.Context>
  readonly current?: string
}

export function locateKubeconfig(options: {kubeconfig?: string; env?: NodeJS.ProcessEnv}): KubeconfigLocation {
  const env = options.env ?? process.env
  if (options.kubeconfig) return {origin: 'explicit', paths: [options.kubeconfig]}
  const listed = [...new Set((env.KUBECONFIG ?? '').split(delimiter).filter((path) => path !== ''))]
  if (listed.length > 0) return {origin: 'KUBECONFIG', paths: listed}
  return {origin: 'default', paths: [join(env.HOME || homedir(), '.kube', 'config')]}
}

/** for messages: `/a/config` or `KUBECONFIG (/a:/b)` */
export function describeLocation(location: KubeconfigLocation): string {
  return location.origin === 'KUBECONFIG' ? `KUBECONFIG (${location.paths.join(delimiter)})` : location.paths.join(delimiter)
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** one file's text: undefined when it does not exist and may be skipped (a KUBECONFIG entry) */
function readKubeconfigText(path: string, origin: KubeconfigLocation['origin']): string | undefined {
  const read = readRegularFile(resolve(path), KUBECONFIG_LIMITS.maxBytes)
  if (read.ok) return read.text
  if (read.code === 'missing' && origin !== 'explicit') return undefined
  if (read.code === 'missing') throw new XccError(`kubeconfig ${path} does not exist`, {exitCode: 2, hint: 'check the path of the kubeconfig'})
  const hint = origin === 'KUBECONFIG' ? 'fix the KUBECONFIG list: it names files, separated by ' + `"${delimiter}"` : 'pass the path of a kubeconfig file'
  throw new XccError(`cannot read kubeconfig ${path}: ${read.why}`, {exitCode: 2, ...(read.code === 'not-regular' || read.code === 'too-large' ? {hint} : {})})
}

/** the YAML of one file, within KUBECONFIG_LIMITS */
function parseKubeconfigYaml(path: string, text: string): unknown {
  let document: unknown
  try {
    // maxDepth: js-yaml 4.3's nesting limit (not in @types/js-yaml)
    document = yaml.load(text, {maxDepth: KUBECONFIG_LIMITS.maxDepth} as yaml.LoadOptions)
  } catch (error) {
    // the reason and position only: js-yaml's message quotes the lines around the error
    const {reason, mark} = error as {reason?: string; mark?: {line?: number; column?: number}}
    const at = mark?.line === undefined ? '' : ` (line ${mark.line + 1}${mark.column === undefined ? '' : `, column ${mark.column + 1}`})`
    throw new XccError(`kubeconfig ${path} is not valid YAML: ${reason?.slice(0, 200) ?? 'unparsable'}${at}`, {exitCode: 2, hint: 'fix the file, or point KUBECONFIG at another one'})
  }
  const bounds = documentBounds(document, KUBECONFIG_LIMITS)
  if (bounds) throw new XccError(`kubeconfig ${path} is not a kubeconfig: ${describeBounds(bounds.limit, KUBECONFIG_LIMITS)}${bounds.path ? ` at ${bounds.path}` : ''}`, {exitCode: 2})
  return document
}

/** one file: undefined when it does not exist and may be skipped (a KUBECONFIG entry) */
function readKubeconfigFile(k8s: ClientNode, path: string, origin: KubeconfigLocation['origin']): K8s.KubeConfig | undefined {
  const text = readKubeconfigText(path, origin)
  if (text === undefined) return undefined
  const document = parseKubeconfigYaml(path, text)
  const config = new k8s.KubeConfig()
  // kubectl reads an empty file as an empty kubeconfig
  if (document === undefined || document === null) return config
  if (!isMapping(document)) throw new XccError(`kubeconfig ${path} is not a kubeconfig: expected a mapping with clusters, users and contexts`, {exitCode: 2})
  try {
    config.loadFromString(text)
    config.makePathsAbsolute(dirname(resolve(path)))
  } catch (error) {
    // client-node's messages name the entry (`users[1].name is missing`), never its values
    throw new XccError(`kubeconfig ${path} is invalid: ${(error as Error).message}`, {exitCode: 2})
  }
  return config
}

export function loadMergedKubeconfig(k8s: ClientNode, location: KubeconfigLocation): MergedKubeconfig {
  const clusters = new Map<string, K8s.Cluster>()
  const users = new Map<string, K8s.User>()
  const contexts = new Map<string, K8s.Context>()
  const files: string[] = []
  let current: string | undefined
  for (const path of location.paths) {
    const config = readKubeconfigFile(k8s, path, location.origin)
    if (!config) continue
    files.push(path)
    for (const cluster of config.getClusters()) if (!clusters.has(cluster.name)) clusters.set(cluster.name, cluster)
    for (const user of config.getUsers()) if (!users.has(user.name)) users.set(user.name, user)
    for (const context of config.getContexts()) if (!contexts.has(context.name)) contexts.set(context.name, context)
    current ||= config.getCurrentContext() || undefined
  }
  if (files.length === 0) {
    const hint = 'get credentials for a cluster (for GKE: gcloud container clusters get-credentials CLUSTER --location LOCATION), or point KUBECONFIG at a kubeconfig'
    if (location.origin === 'KUBECONFIG') {
      throw new XccError(`no kubeconfig: none of the files listed in KUBECONFIG exists (${location.paths.join(', ')})`, {exitCode: 2, hint})
    }
    throw new XccError(`no kubeconfig: ${location.paths[0]} does not exist and KUBECONFIG is not set`, {exitCode: 2, hint})
  }
  return {location, files, clusters, users, contexts, ...(current ? {current} : {})}
}

/**
 * The context names of the kubeconfig kubectl would read, without client-node (the static doctor
 * only names contexts in its fixes): best effort — a missing or unreadable file names none.
 */
export function readContextNames(env: NodeJS.ProcessEnv = process.env): string[] {
  const names: string[] = []
  for (const path of locateKubeconfig({env}).paths) {
    try {
      // never blocks: a FIFO or a device is skipped like a missing file
      const read = readRegularFile(resolve(path), KUBECONFIG_LIMITS.maxBytes)
      if (!read.ok) continue
      const document = parseKubeconfigYaml(path, read.text)
      const contexts = isMapping(document) && Array.isArray(document.contexts) ? document.contexts : []
      for (const c of contexts) if (isMapping(c) && typeof c.name === 'string' && !names.includes(c.name)) names.push(c.name)
    } catch {
      // no kubeconfig, or an unreadable one: the fixes name clusters instead
    }
  }
  return names
}
