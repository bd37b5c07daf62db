/**
 * Turns what @kubernetes/client-node 1.x throws into user-fixable XccErrors (exit 3) that name
 * the context, the API server and the operation, and never carry a credential.
 *
 * client-node throws three kinds of error: `ApiException` (an HTTP status with `.code` and the
 * response body as an unparsed string in `.body`; a 401 has no body at all), node-fetch's
 * `FetchError` (connection refused, DNS, TLS: `.code` is the system error code) and node-fetch's
 * `AbortError` (our per-request timeout fired). Anything else that is not a programming error
 * (TypeError and friends stay bugs) comes from resolving credentials (exec plugins, files).
 */
import type * as K8s from '@kubernetes/client-node'

import {ApiError, type RequestFate, XccError} from '../../core/errors.js'

/** What a request does: for messages, and for the permission a 403 asks to grant. */
export interface KubeRequest {
  /** a gerund phrase for messages: `listing nodes`, `creating pod default/probe` */
  readonly operation: string
  /** the RBAC verb and resource the request needs */
  readonly verb: string
  readonly resource: string
  readonly subresource?: string
  /** API group ('' or undefined = core) */
  readonly group?: string
  /** the namespace of a namespaced request; undefined = cluster-scoped or every namespace */
  readonly namespace?: string
  /** a namespaced resource read across every namespace */
  readonly allNamespaces?: boolean
  /**
   * the object a full replace (PUT) writes, for messages (`configmap kube-system/kube-dns`): its
   * 409 Conflict means the resourceVersion sent was stale, i.e. someone changed it meanwhile
   */
  readonly replaces?: string
}

/** Where requests go, for messages. */
export interface KubeTarget {
  readonly context: string
  readonly cluster: string
  readonly server: string
  readonly user?: string
  readonly timeoutMs: number
  /** strings that must never reach a message: tokens, passwords, client keys and certificates */
  readonly secrets: readonly string[]
}

/** The Status a failed request answered with, when it was an HTTP error. */
export interface KubeStatus {
  readonly code: number
  readonly message?: string
  readonly reason?: string
}

export function kubeStatusOf(error: unknown, ApiException: typeof K8s.ApiException): KubeStatus | undefined {
  if (!(error instanceof ApiException) || typeof error.code !== 'number') return undefined
  const body: unknown = error.body
  let parsed: unknown = body
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body)
    } catch {
      // not a Status (a proxy's HTML page, plain text): keep the first line as the message
      const line = body.trim().split('\n')[0]?.trim()
      return {code: error.code, ...(line ? {message: line.length > 200 ? `${line.slice(0, 197)}...` : line} : {})}
    }
  }
  if (typeof parsed === 'object' && parsed !== null) {
    const {message, reason} = parsed as {message?: unknown; reason?: unknown}
    return {code: error.code, ...(typeof message === 'string' && message ? {message} : {}), ...(typeof reason === 'string' && reason ? {reason} : {})}
  }
  return {code: error.code}
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'EPROTO'])
/** failures before the request could reach the server; the other network failures (a reset, a timeout) may come after it was sent */
const UNSENT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'EPROTO'])
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|ERR_OSSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|HOSTNAME_MISMATCH$)/

function errorCode(error: Error): string | undefined {
  const code = (error as {code?: unknown}).code
  return typeof code === 'string' ? code : undefined
}

/** collects the credential strings of a kubeconfig user, to keep them out of every message */
export function collectSecrets(user: K8s.User | undefined): string[] {
  if (!user) return []
  const found: string[] = []
  const add = (value: unknown): void => {
    if (typeof value === 'string' && value.length >= 4) found.push(value)
  }
  add(user.token)
  add(user.password)
  for (const data of [user.keyData, user.certData]) {
    add(data)
    if (typeof data === 'string') add(Buffer.from(data, 'base64').toString('utf8').trim())
  }
  const providerConfig: unknown = (user.authProvider as {config?: unknown} | undefined)?.config
  if (typeof providerConfig === 'object' && providerConfig !== null) {
    for (const [key, value] of Object.entries(providerConfig)) if (/token|secret|password|key/i.test(key)) add(value)
  }
  const env: unknown = (user.exec as {env?: unknown} | undefined)?.env
  if (Array.isArray(env)) for (const entry of env) add((entry as {value?: unknown} | undefined)?.value)
  // longest first, so that a secret containing another is removed whole
  return [...new Set(found)].sort((a, b) => b.length - a.length)
}

export function redact(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) out = out.split(secret).join('<redacted>')
  return out
    .replace(/-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(-----END [A-Z0-9 ]+-----|$)/g, '<redacted PEM>')
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 <redacted>')
}

/**
 * A line from outside (an exec plugin's stderr) with what looks like a credential redacted: the
 * value after a key such as token, secret, password or key; bearer and basic credentials; PEM
 * blocks; JWTs, Google OAuth tokens and other known token shapes; and long opaque strings mixing
 * letters and digits. Heuristic, so it errs on the side of hiding.
 */
export function redactLine(line: string, secrets: readonly string[] = []): string {
  return redact(line, secrets)
    .replace(/\b(access[_-]?token|refresh[_-]?token|id[_-]?token|token|secret|client[_-]?secret|password|passwd|pwd|api[_-]?key|key|credentials?|authorization|auth)(["']?\s*[:=]\s*["']?)(?!<redacted)[^\s"',;&]+/gi, '$1$2<redacted>')
    .replace(/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?/g, '<redacted>')
    .replace(/\b(?:ya29\.|1\/\/)[A-Za-z0-9._-]+/g, '<redacted>')
    .replace(/\b(?:gh[pousr]_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,}|xox[abprs]-[A-Za-z0-9-]{10,})/g, '<redacted>')
    .replace(/[A-Za-z0-9+/_=.~-]{32,}/g, (run) => (/[0-9]/.test(run) && /[A-Za-z]/.test(run) ? '<redacted>' : run))
}

/** an XccError whose message, hint and details carry no credential; an ApiError when the request's fate is given */
export function safeError(target: Pick<KubeTarget, 'secrets'>, message: string, options: {exitCode: 2 | 3; hint?: string; details?: readonly string[]; fate?: RequestFate}): XccError {
  const rest = {
    ...(options.hint === undefined ? {} : {hint: redact(options.hint, target.secrets)}),
    details: (options.details ?? []).map((line) => redact(line, target.secrets)),
  }
  if (options.fate) return new ApiError(redact(message, target.secrets), options.fate, rest)
  return new XccError(redact(message, target.secrets), {exitCode: options.exitCode, ...rest})
}

/** `verbs ["list"] on "nodes" cluster-wide` plus how to check it with kubectl */
function permissionHint(request: KubeRequest, target: KubeTarget): string {
  const resource = request.subresource ? `${request.resource}/${request.subresource}` : request.resource
  const group = request.group ?? ''
  const rule = `apiGroups ["${group}"], resources ["${resource}"], verbs ["${request.verb}"]`
  const canI = [`kubectl --context ${target.context} auth can-i ${request.verb} ${group ? `${request.resource}.${group}` : request.resource}`]
  if (request.subresource) canI.push(`--subresource ${request.subresource}`)
  let scope: string
  if (request.namespace !== undefined) {
    scope = `in namespace "${request.namespace}" (a Role or ClusterRole rule {${rule}} bound in that namespace)`
    canI.push(`-n ${request.namespace}`)
  } else if (request.allNamespaces) {
    scope = `in every namespace (a ClusterRole rule {${rule}} bound with a ClusterRoleBinding)`
    canI.push('--all-namespaces')
  } else {
    scope = `cluster-wide (a ClusterRole rule {${rule}} bound with a ClusterRoleBinding)`
  }
  const who = target.user ? `user "${target.user}" of context "${target.context}"` : `user of context "${target.context}"`
  return `grant the ${who} permission to ${request.verb} ${resource} ${scope}; check with: ${canI.join(' ')}`
}

function describeCause(error: Error): string {
  // FetchError: "request to https://host:port/api/v1/nodes failed, reason: connect ECONNREFUSED 127.0.0.1:6443"
  const reason = /failed, reason: (.*)$/s.exec(error.message)?.[1]?.trim()
  return reason || errorCode(error) || error.message
}

/**
 * The XccError for a failed request, or the error itself when it is a bug (TypeError, ...).
 * `status` is the HTTP answer when there was one (see kubeStatusOf).
 */
export function kubeFailure(error: unknown, status: KubeStatus | undefined, request: KubeRequest, target: KubeTarget): unknown {
  const server = `the API server of context "${target.context}" (${target.server})`
  if (status) {
    const fate: RequestFate = {kind: 'answered', status: status.code, ...(status.reason ? {reason: status.reason} : {})}
    const detail = `HTTP ${status.code}${status.reason ? ` ${status.reason}` : ''} from ${target.server}`
    if (status.code === 401) {
      const user = target.user ? `user "${target.user}"` : 'the context (it names no user)'
      return safeError(target, `${server} rejected the credentials while ${request.operation}`, {
        exitCode: 3,
        hint: `the credentials of ${user} in the kubeconfig are missing, invalid or expired: refresh them (for GKE: gcloud container clusters get-credentials CLUSTER --location LOCATION)`,
        details: [detail], fate,
      })
    }
    const message = status.message ?? `HTTP ${status.code}`
    if (status.code === 403) {
      const terminating = /being terminated/.test(message)
      return safeError(target, `${request.operation} in context "${target.context}" is forbidden: ${message}`, {
        exitCode: 3,
        hint: terminating ? `namespace "${request.namespace ?? ''}" is being deleted: wait until it is gone, or use another namespace` : permissionHint(request, target),
        details: [detail], fate,
      })
    }
    if (status.code === 409 && request.replaces !== undefined && status.reason !== 'AlreadyExists') {
      return safeError(target, `cannot replace ${request.replaces} in context "${target.context}": it was changed by someone else meanwhile; run the command again`, {
        exitCode: 3,
        hint: `the replace carried a stale resourceVersion and was refused: ${request.replaces} is as the other writer left it, and running again starts from its current version`,
        details: [detail, message], fate,
      })
    }
    return safeError(target, `${request.operation} in context "${target.context}" failed: ${message}`, {exitCode: 3, details: [detail], fate})
  }
  if (!(error instanceof Error) || error instanceof TypeError || error instanceof ReferenceError || error instanceof RangeError) return error
  // exec-auth.ts: its message names the plugin's command and at most a redacted line of its stderr
  if (error.name === 'ExecPluginError') {
    return safeError(target, `cannot get credentials for context "${target.context}" while ${request.operation}: ${error.message}`, {exitCode: 3, hint: (error as Error & {hint?: string}).hint ?? ''})
  }
  if (error.name === 'AbortError') {
    return safeError(target, `cannot reach ${server} while ${request.operation}: no answer within ${target.timeoutMs / 1000} s`, {
      exitCode: 3,
      hint: 'the server did not answer in time: check that it is healthy and that nothing on the way (VPN, proxy, firewall) drops the traffic',
      fate: {kind: 'unanswered'},
    })
  }
  const code = errorCode(error)
  const tls = code !== undefined && TLS_CODE.test(code)
  if (error.name === 'FetchError' || (code !== undefined && (NETWORK_CODES.has(code) || tls))) {
    const hint = tls
      ? `the server's certificate is not trusted by the certificate authority of cluster "${target.cluster}" in the kubeconfig, or does not name the address in its server URL`
      : 'check that the cluster is running and that its API server is reachable from here (VPN, authorized networks, private endpoint)'
    const fate: RequestFate = tls || (code !== undefined && UNSENT_CODES.has(code)) ? {kind: 'unsent'} : {kind: 'unanswered'}
    return safeError(target, `cannot reach ${server} while ${request.operation}: ${describeCause(error)}`, {exitCode: 3, hint, ...(code ? {details: [`error code ${code}`]} : {}), fate})
  }
  // credentials that could not be resolved: an exec plugin that failed, a certificate file that is missing, ...
  return safeError(target, `${request.operation} in context "${target.context}" failed: ${error.message}`, {
    exitCode: 3,
    hint: `check the user${target.user ? ` "${target.user}"` : ''} and cluster "${target.cluster}" of context "${target.context}" in the kubeconfig`,
    fate: {kind: 'unsent'},
  })
}
