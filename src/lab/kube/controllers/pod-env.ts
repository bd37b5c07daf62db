/**
 * A container's environment and command line, as the kubelet builds them: `envFrom` then `env`
 * (values, `$(VAR)` references to earlier variables, fieldRef, configMapKeyRef, secretKeyRef),
 * a default PATH and HOSTNAME, and `$(VAR)` expansion in command and args. A container with
 * neither command nor args has nothing to run: the caller runs it as a pause container.
 */
import type {ObjectStore} from '../store.js'
import {type Container, type Pod, isPlainObject} from '../types.js'

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/

/** A reference the kubelet cannot resolve (missing ConfigMap or key): CreateContainerConfigError. */
export class ContainerConfigError extends Error {}

/** Expands `$(NAME)` from `env`; `$$(NAME)` is a literal `$(NAME)`; unknown names stay as written. */
export function expand(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(/\$\$|\$\(([^)]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$'
    return name !== undefined && Object.prototype.hasOwnProperty.call(env, name) ? env[name]! : match
  })
}

function fieldRefValue(pod: Pod, path: string): string {
  const labelOrAnnotation = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(path)
  if (labelOrAnnotation) {
    const map = labelOrAnnotation[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations
    return map?.[labelOrAnnotation[2]!] ?? ''
  }
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name ?? ''
    case 'metadata.namespace':
      return pod.metadata.namespace ?? ''
    case 'metadata.uid':
      return pod.metadata.uid ?? ''
    case 'spec.nodeName':
      return pod.spec.nodeName ?? ''
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? ''
    case 'status.hostIP':
      return pod.status?.hostIP ?? ''
    case 'status.hostIPs':
      return (pod.status?.hostIPs ?? []).map((a) => a.ip).join(',')
    case 'status.podIP':
      return pod.status?.podIP ?? ''
    case 'status.podIPs':
      return (pod.status?.podIPs ?? []).map((a) => a.ip).join(',')
    default:
      throw new ContainerConfigError(`unsupported fieldRef ${path}`)
  }
}

function sourceData(store: ObjectStore, pod: Pod, kind: 'configmaps' | 'secrets', name: string, optional: boolean | undefined): Record<string, string> | undefined {
  const object = store.get(store.registry.get(kind), pod.metadata.namespace, name)
  if (!object) {
    if (optional) return undefined
    throw new ContainerConfigError(`${kind === 'configmaps' ? 'configmap' : 'secret'} "${name}" not found`)
  }
  const data: Record<string, string> = {}
  const raw = isPlainObject(object.data) ? object.data : {}
  for (const [key, value] of Object.entries(raw)) data[key] = kind === 'secrets' ? Buffer.from(String(value), 'base64').toString('utf8') : String(value)
  return data
}

/** The container's environment; `pod.status` must already hold podIP and hostIP. */
export function containerEnv(store: ObjectStore, pod: Pod, container: Container, extra: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {PATH: DEFAULT_PATH, HOSTNAME: pod.metadata.name ?? ''}
  for (const source of container.envFrom ?? []) {
    const ref = source.configMapRef ?? source.secretRef
    if (!ref) continue
    const data = sourceData(store, pod, source.configMapRef ? 'configmaps' : 'secrets', ref.name, ref.optional)
    for (const [key, value] of Object.entries(data ?? {})) {
      const name = `${source.prefix ?? ''}${key}`
      if (ENV_NAME.test(name)) env[name] = value
    }
  }
  for (const variable of container.env ?? []) {
    if (!variable || typeof variable.name !== 'string') continue
    const from = variable.valueFrom
    if (!from) {
      env[variable.name] = expand(variable.value ?? '', env)
      continue
    }
    if (from.fieldRef) env[variable.name] = fieldRefValue(pod, from.fieldRef.fieldPath)
    else if (from.configMapKeyRef || from.secretKeyRef) {
      const ref = (from.configMapKeyRef ?? from.secretKeyRef)!
      const data = sourceData(store, pod, from.configMapKeyRef ? 'configmaps' : 'secrets', ref.name, ref.optional)
      const value = data?.[ref.key]
      if (value !== undefined) env[variable.name] = value
      else if (data && !ref.optional) throw new ContainerConfigError(`couldn't find key ${ref.key} in ${from.configMapKeyRef ? 'ConfigMap' : 'Secret'} ${pod.metadata.namespace}/${ref.name}`)
    } else env[variable.name] = ''
  }
  return {...env, ...extra}
}

/** The command line to run (command then args, as the image's entrypoint would be replaced), or undefined for a pause container. */
export function containerCommand(container: Container, env: Readonly<Record<string, string>>): string[] | undefined {
  const argv = [...(container.command ?? []), ...(container.args ?? [])].map((part) => expand(part, env))
  return argv.length > 0 ? argv : undefined
}
