/**
 * Fault injection, for tests of retries: the lab's cloud reads `cloud-faults.json` in the lab's
 * state directory (again whenever the file changes) and, for a share of the requests a fault
 * matches, waits `latencyMs` and answers `status` (429 or 5xx) in Google's format instead of
 * serving the request. A fault with only `latencyMs` delays matching requests and then serves
 * them. `times` bounds how many requests one fault hits (counted from the moment the file was
 * read). `afterServing` serves the request first and then answers the fault, as when GCP made the
 * change but the answer was lost (what a requestId is for). `denied` lists IAM permissions the caller lacks, as a custom role without them would:
 * every request that needs one is a 403 naming it. No file, or empty lists: no faults.
 *
 *   {"faults": [{"status": 503, "share": 1, "times": 2, "method": "POST", "path": "/global/firewalls"}],
 *    "denied": ["compute.routes.list"]}
 */
import {readFileSync, statSync} from 'node:fs'

import {CloudError} from './errors.js'

export interface Fault {
  /** 429, 500, 502, 503 or 504; absent: only delay */
  readonly status?: number
  /** 0..1, default 1 */
  readonly share?: number
  /** at most this many hits; absent: unbounded */
  readonly times?: number
  /** the request method, when only one is to fail */
  readonly method?: string
  /** a part of the request path (`/global/firewalls`), when only some are to fail */
  readonly path?: string
  readonly latencyMs?: number
  /** serve the request, then answer `status` instead of its answer (the change is made, the answer lost) */
  readonly afterServing?: boolean
}

/** an injected answer; `afterServing`: only once the request has been served */
export class InjectedFault extends CloudError {
  constructor(status: number, message: string, reason: string, readonly afterServing: boolean) {
    super(status, message, reason)
  }
}

const MESSAGES: Readonly<Record<number, [string, string]>> = {
  429: ['Rate Limit Exceeded', 'rateLimitExceeded'],
  500: ['Internal error. Please try again or contact Google Support.', 'backendError'],
  502: ['Bad Gateway', 'backendError'],
  503: ['The service is currently unavailable.', 'backendError'],
  504: ['Deadline exceeded.', 'backendError'],
}

export class FaultInjector {
  private mtime = -1
  private faults: Array<Fault & {hits: number}> = []
  private deny: ReadonlySet<string> = new Set()

  constructor(private readonly file: string, private readonly log: (message: string) => void) {}

  private reload(): void {
    let mtime: number
    try {
      mtime = statSync(this.file).mtimeMs
    } catch {
      this.mtime = -1
      this.faults = []
      this.deny = new Set()
      return
    }
    if (mtime === this.mtime) return
    this.mtime = mtime
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as {faults?: Fault[]; denied?: unknown}
      this.faults = (Array.isArray(parsed.faults) ? parsed.faults : []).map((f) => ({...f, hits: 0}))
      this.deny = new Set(Array.isArray(parsed.denied) ? parsed.denied.filter((d): d is string => typeof d === 'string') : [])
      this.log(`cloud: ${this.faults.length} injected ${this.faults.length === 1 ? 'fault' : 'faults'}${this.deny.size ? ` and ${this.deny.size} denied ${this.deny.size === 1 ? 'permission' : 'permissions'}` : ''} from ${this.file}`)
    } catch (error) {
      this.faults = []
      this.deny = new Set()
      this.log(`cloud: ignoring ${this.file}: ${(error as Error).message}`)
    }
  }

  /** the permissions the caller lacks */
  denied(): ReadonlySet<string> {
    this.reload()
    return this.deny
  }

  /** Delays the request as a fault says; resolves to the error to answer instead, if any. */
  async inject(method: string, path: string): Promise<InjectedFault | undefined> {
    this.reload()
    const fault = this.faults.find((f) =>
      (f.method === undefined || f.method.toUpperCase() === method) && (f.path === undefined || path.includes(f.path)) && (f.times === undefined || f.hits < f.times))
    if (!fault || Math.random() >= (fault.share ?? 1)) return undefined
    fault.hits++
    this.log(`cloud: injected ${fault.status ?? 'no error'}${fault.latencyMs ? ` after ${fault.latencyMs} ms` : ''}${fault.afterServing && fault.status !== undefined ? ' after serving' : ''} into ${method} ${path}`)
    if (fault.latencyMs) await new Promise((resolve) => setTimeout(resolve, fault.latencyMs))
    if (fault.status === undefined) return undefined
    const [message, reason] = MESSAGES[fault.status] ?? ['Injected fault', 'backendError']
    return new InjectedFault(fault.status, message, reason, fault.afterServing === true)
  }
}
