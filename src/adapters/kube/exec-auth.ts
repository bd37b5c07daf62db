/**
 * Kubeconfig exec plugins (`users[].user.exec`, such as gke-gcloud-auth-plugin), run with bounds.
 *
 * client-node's ExecAuth spawns the plugin with no timeout (a plugin waiting for a login or the
 * network hangs the command forever), keeps all it prints in memory, and rejects with the whole
 * of its stderr as the error message (a plugin may print a token there). This authenticator
 * replaces it for the users that have an exec plugin (cluster.ts strips `exec` from the user
 * client-node sees and adds this one): the plugin runs without a terminal or stdin, in its own
 * process group, which is killed after the timeout; stdout and stderr are capped; a failure says
 * which command failed (never its arguments or environment) and at most the first line of its
 * stderr, with anything that looks like a credential redacted.
 *
 * As client-go, it sets KUBERNETES_EXEC_INFO, caches the credential until its
 * expirationTimestamp (for the process when it has none), and runs the plugin once for
 * concurrent requests.
 */
import {spawn} from 'node:child_process'
import type {RequestOptions} from 'node:https'

import type * as K8s from '@kubernetes/client-node'

import {shorten} from '../../core/errors.js'
import {redactLine} from './errors.js'

/** how long a plugin may take to print a credential */
export const DEFAULT_EXEC_PLUGIN_TIMEOUT_MS = 30_000

/** an ExecCredential is a few kilobytes; more is not one */
const MAX_STDOUT_BYTES = 1024 * 1024
/** only the first line is ever shown */
const MAX_STDERR_BYTES = 16 * 1024

export interface ExecPluginConfig {
  readonly command: string
  readonly args?: readonly string[]
  readonly env?: ReadonlyArray<{readonly name: string; readonly value: string}>
  readonly apiVersion?: string
}

interface ExecCredentialStatus {
  readonly token?: string
  readonly clientCertificateData?: string
  readonly clientKeyData?: string
  readonly expirationTimestamp?: string
}

/** A plugin that did not give a credential: a message and hint without credentials (cluster.ts redacts the kubeconfig's own secrets too). */
export class ExecPluginError extends Error {
  constructor(message: string, readonly hint: string) {
    super(message)
    this.name = 'ExecPluginError'
  }
}

/** the exec plugin a kubeconfig user runs, if any (client-node reads `user.exec`, or the legacy `auth-provider` form) */
export function execPluginOf(user: K8s.User | undefined): ExecPluginConfig | undefined {
  if (!user) return undefined
  const provider = user.authProvider as {name?: string; config?: {exec?: unknown}} | undefined
  const exec: unknown = user.exec ?? provider?.config?.exec
  if (typeof exec !== 'object' || exec === null) return undefined
  return exec as ExecPluginConfig
}

export class BoundedExecAuth {
  private cached?: {readonly status: ExecCredentialStatus; readonly expires: number}
  private pending?: Promise<ExecCredentialStatus>

  /** `user`: the kubeconfig user's name, which this authenticator answers for */
  constructor(private readonly user: string, private readonly plugin: ExecPluginConfig, private readonly timeoutMs: number) {}

  isAuthProvider(user: K8s.User): boolean {
    return user.name === this.user
  }

  async applyAuthentication(_user: K8s.User, opts: RequestOptions): Promise<void> {
    const status = await this.credential()
    if (status.clientCertificateData) opts.cert = status.clientCertificateData
    if (status.clientKeyData) opts.key = status.clientKeyData
    if (status.token) opts.headers = {...opts.headers, Authorization: `Bearer ${status.token}`}
  }

  private async credential(): Promise<ExecCredentialStatus> {
    if (this.cached && this.cached.expires > Date.now()) return this.cached.status
    this.pending ??= this.run().finally(() => (this.pending = undefined))
    return this.pending
  }

  private async run(): Promise<ExecCredentialStatus> {
    const status = await runExecPlugin(this.user, this.plugin, this.timeoutMs)
    const expires = status.expirationTimestamp === undefined ? Infinity : Date.parse(status.expirationTimestamp)
    if (!Number.isNaN(expires)) this.cached = {status, expires}
    return status
  }
}

/** "the exec plugin gke-gcloud-auth-plugin of user "u"" */
function pluginLabel(user: string, command: string): string {
  return `the exec plugin ${shorten(command, 120)} of kubeconfig user "${shorten(user)}"`
}

/** Runs the plugin once and returns the status of its ExecCredential; throws ExecPluginError. */
export function runExecPlugin(user: string, plugin: ExecPluginConfig, timeoutMs: number): Promise<ExecCredentialStatus> {
  const label = pluginLabel(user, String(plugin.command))
  const hint = 'run the command of users[].user.exec in the kubeconfig yourself to see what it needs (a login, the network); for GKE: gcloud auth login, then gcloud container clusters get-credentials CLUSTER --location LOCATION'
  if (typeof plugin.command !== 'string' || plugin.command === '') {
    return Promise.reject(new ExecPluginError(`kubeconfig user "${shorten(user)}" has an exec plugin without a command`, 'set users[].user.exec.command in the kubeconfig'))
  }
  const env: NodeJS.ProcessEnv = {...process.env}
  for (const entry of plugin.env ?? []) if (entry && typeof entry.name === 'string') env[entry.name] = String(entry.value ?? '')
  if (plugin.apiVersion) env.KUBERNETES_EXEC_INFO = JSON.stringify({apiVersion: plugin.apiVersion, kind: 'ExecCredential', spec: {interactive: false}})

  return new Promise((resolve, reject) => {
    let settled = false
    const stdout: Buffer[] = []
    let stdoutBytes = 0
    let stderr = ''
    const child = spawn(plugin.command, (plugin.args ?? []).map(String), {env, stdio: ['ignore', 'pipe', 'pipe'], detached: true})

    /** the plugin and anything it started: its own process group */
    const kill = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
      } catch {
        child.kill('SIGKILL')
      }
    }
    const finish = (error: ExecPluginError | undefined, status?: ExecCredentialStatus): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      process.off('exit', kill)
      if (error) {
        kill()
        child.stdout?.destroy()
        child.stderr?.destroy()
        reject(error)
      } else resolve(status as ExecCredentialStatus)
    }
    // xcc exiting (an error elsewhere, Ctrl-C) takes the plugin with it
    process.on('exit', kill)
    const timer = setTimeout(() => finish(new ExecPluginError(`${label} gave no credential within ${timeoutMs / 1000} s and was stopped`, hint)), timeoutMs)

    child.stdout?.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length
      if (stdoutBytes > MAX_STDOUT_BYTES) finish(new ExecPluginError(`${label} printed more than ${MAX_STDOUT_BYTES / 1024} KiB on stdout, which is no ExecCredential`, hint))
      else stdout.push(chunk)
    })
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (chunk: string) => {
      if (stderr.length < MAX_STDERR_BYTES) stderr += chunk.slice(0, MAX_STDERR_BYTES - stderr.length)
    })
    child.on('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'ENOENT' ? 'was not found' : error.code === 'EACCES' ? 'cannot be run (permission denied)' : `could not be started (${error.code ?? 'error'})`
      finish(new ExecPluginError(`${label} ${why}`, 'install the plugin, or fix users[].user.exec.command in the kubeconfig (for GKE: gcloud components install gke-gcloud-auth-plugin)'))
    })
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return
      if (code !== 0) {
        const line = firstLine(stderr)
        const how = signal ? `was killed by ${signal}` : `failed (exit code ${code})`
        finish(new ExecPluginError(`${label} ${how}${line ? `: ${line}` : ''}`, hint))
        return
      }
      const status = credentialStatus(Buffer.concat(stdout).toString('utf8'))
      if (status) finish(undefined, status)
      else finish(new ExecPluginError(`${label} printed no ExecCredential (a JSON object with a status holding a token or a client certificate) on stdout`, hint))
    })
  })
}

/** the first non-empty line of a plugin's stderr, shortened, with what looks like a credential redacted */
function firstLine(stderr: string): string {
  const line = stderr.split(/\r?\n/).find((l) => l.trim() !== '')?.trim() ?? ''
  return shorten(redactLine(line), 200)
}

function credentialStatus(stdout: string): ExecCredentialStatus | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(stdout)
  } catch {
    // never quoted: it may hold the credential
    return undefined
  }
  const status = (parsed as {status?: unknown} | null)?.status
  if (typeof status !== 'object' || status === null) return undefined
  const {token, clientCertificateData, clientKeyData, expirationTimestamp} = status as Record<string, unknown>
  const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)
  const result = {token: text(token), clientCertificateData: text(clientCertificateData), clientKeyData: text(clientKeyData), expirationTimestamp: text(expirationTimestamp)}
  if (!result.token && !(result.clientCertificateData && result.clientKeyData)) return undefined
  return result
}
