/**
 * Compute operations (`compute#operation`, gcp-api-emulation.md §2.3, §3.3). A mutation answers
 * with its operation RUNNING; the operation is DONE once the data plane has applied the change,
 * with `error` when it could not. `wait` answers when the operation is DONE or after two minutes
 * (GCE's bound), whichever comes first; callers loop. A zonal operation carries `zone`, a
 * regional one `region`: gcloud picks where to poll from them. Inserts with a `requestId` seen
 * before get the first operation back, not a second resource. An operation may hold `locks`
 * (the networks of a peering operation) until it is DONE, for the API to refuse what GCP runs
 * one at a time.
 */
import {randomBytes} from 'node:crypto'

import {notFound} from './errors.js'
import {rfc3339, resourceId} from './identity.js'
import {type Scope, scopeLink, scopePath, COMPUTE_BASE} from './refs.js'

export const WAIT_LIMIT_MS = 120_000
const KEEP = 5000

export interface OperationStart {
  readonly project: string
  readonly scope: Scope
  readonly operationType: string
  readonly targetLink: string
  readonly user: string
  readonly requestId?: string
  /** what the operation holds until it is DONE (see `busy`) */
  readonly locks?: readonly string[]
}

interface Entry {
  readonly key: string
  body: Record<string, unknown>
  readonly settled: Promise<void>
  readonly locks: readonly string[]
}

function newName(): string {
  const hex = (n: number): string => randomBytes(n).toString('hex')
  return `operation-${Date.now()}-${hex(6)}-${hex(4)}-${hex(4)}`
}

export class Operations {
  private readonly entries = new Map<string, Entry>()
  private readonly byRequest = new Map<string, string>()

  constructor(private readonly waitLimitMs = WAIT_LIMIT_MS) {}

  /** the operation of an earlier request with this requestId, as it is now */
  replay(requestId: string | undefined): Record<string, unknown> | undefined {
    if (!requestId) return undefined
    const key = this.byRequest.get(requestId)
    return key ? this.entries.get(key)?.body : undefined
  }

  /** Records an operation for `work` (the data plane applying the change); answers it RUNNING. */
  start(start: OperationStart, work: Promise<void>): Record<string, unknown> {
    const name = newName()
    const key = `${start.project}/${scopePath(start.scope)}/${name}`
    const now = rfc3339(new Date())
    const selfLink = `${COMPUTE_BASE}projects/${start.project}/${scopePath(start.scope)}/operations/${name}`
    const body: Record<string, unknown> = {
      kind: 'compute#operation', id: resourceId(selfLink), name, operationType: start.operationType, progress: 0, status: 'RUNNING',
      insertTime: now, startTime: now, user: start.user, targetId: resourceId(start.targetLink), targetLink: start.targetLink, selfLink,
      ...(start.scope.kind === 'zones' ? {zone: scopeLink(start.project, start.scope)} : {}),
      ...(start.scope.kind === 'regions' ? {region: scopeLink(start.project, start.scope)} : {}),
    }
    const first = {...body}
    const settled = work.then(
      () => {
        entry.body = {...body, status: 'DONE', progress: 100, endTime: rfc3339(new Date())}
      },
      (error: unknown) => {
        const message = `the lab could not apply the change to its data plane: ${(error as Error).message ?? String(error)}`
        entry.body = {...body, status: 'DONE', progress: 100, endTime: rfc3339(new Date()), httpErrorStatusCode: 500, httpErrorMessage: 'INTERNAL SERVER ERROR', error: {errors: [{code: 'INTERNAL_ERROR', message}]}}
      },
    )
    const entry: Entry = {key, body, settled, locks: start.locks ?? []}
    this.entries.set(key, entry)
    if (start.requestId) this.byRequest.set(start.requestId, key)
    this.forgetOldest()
    return first
  }

  /** whether an operation that is not DONE holds one of `locks` */
  busy(locks: readonly string[]): boolean {
    for (const entry of this.entries.values()) {
      if (entry.body.status !== 'DONE' && entry.locks.some((l) => locks.includes(l))) return true
    }
    return false
  }

  private forgetOldest(): void {
    while (this.entries.size > KEEP) {
      const oldest = this.entries.keys().next().value as string
      this.entries.delete(oldest)
      for (const [id, key] of this.byRequest) if (key === oldest) this.byRequest.delete(id)
    }
  }

  private entry(project: string, scope: Scope, name: string): Entry {
    const entry = this.entries.get(`${project}/${scopePath(scope)}/${name}`)
    if (!entry) throw notFound(`projects/${project}/${scopePath(scope)}/operations/${name}`)
    return entry
  }

  get(project: string, scope: Scope, name: string): Record<string, unknown> {
    return this.entry(project, scope, name).body
  }

  async wait(project: string, scope: Scope, name: string): Promise<Record<string, unknown>> {
    const entry = this.entry(project, scope, name)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([entry.settled, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.waitLimitMs)))])
    clearTimeout(timer)
    return entry.body
  }

  delete(project: string, scope: Scope, name: string): void {
    const entry = this.entry(project, scope, name)
    this.entries.delete(entry.key)
  }

  /** the operations of one scope (or of every scope), oldest first */
  list(project: string, scope?: Scope): Array<Record<string, unknown>> {
    const prefix = scope ? `${project}/${scopePath(scope)}/` : `${project}/`
    return [...this.entries.values()].filter((e) => e.key.startsWith(prefix)).map((e) => e.body)
  }
}
