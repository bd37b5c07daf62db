/**
 * Waiting for a Compute operation (gcp-api-emulation.md §1.6): the Node client never polls, so
 * xcc loops on `{Global,Region,Zone}Operations.wait` (the scope from the operation's `zone` or
 * `region`) until DONE, each wait retried like any request and the loop bounded by the deadline.
 * An operation that ends with `error` is not thrown by the client: it is read here.
 */
import {XccError} from '../../core/errors.js'
import {type ClientOptions, loadComputeClient, plain} from './compute.js'
import {type CallContext, withRetries} from './retry.js'

export interface Operation {
  readonly name?: string
  readonly status?: string
  readonly zone?: string
  readonly region?: string
  readonly httpErrorStatusCode?: number
  readonly error?: {readonly errors?: ReadonlyArray<{readonly code?: string; readonly message?: string}>}
}

type Waiter = {wait(request: object): Promise<unknown[]>}

const last = (url: string): string => url.split('/').pop() ?? ''
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** the operation clients of one writer, loaded on first use */
export class OperationWaiter {
  private readonly clients = new Map<string, Promise<Waiter>>()

  constructor(private readonly options: ClientOptions) {}

  private client(file: string, name: string): Promise<Waiter> {
    let found = this.clients.get(file)
    if (!found) {
      found = loadComputeClient<Waiter>(this.options, file, name)
      this.clients.set(file, found)
    }
    return found
  }

  /** `op` once DONE (its `error`, if any, left for the caller) */
  async done(ctx: CallContext, first: Operation, what: string): Promise<Operation> {
    let op = first
    while (op.status !== 'DONE') {
      if (!op.name) throw new XccError(`the ${ctx.api} API answered ${what} without an operation name`, {exitCode: 3})
      const request = op.zone
        ? {client: this.client('zone_operations', 'ZoneOperationsClient'), scope: {zone: last(op.zone)}}
        : op.region ? {client: this.client('region_operations', 'RegionOperationsClient'), scope: {region: last(op.region)}} : {client: this.client('global_operations', 'GlobalOperationsClient'), scope: {}}
      const client = await request.client
      const name = op.name
      const started = Date.now()
      const late = (): XccError => new XccError(`${what} did not finish in time (operation ${name} is ${op.status ?? 'PENDING'})`, {exitCode: 3, hint: 'the change may still complete; --timeout sets how long xcc waits, and running the command again finishes the job'})
      let next: unknown
      try {
        ;[next] = await withRetries(ctx, `waiting for ${what} (operation ${name})`, () => client.wait({project: ctx.project, operation: name, ...request.scope}))
      } catch (error) {
        // a wait the API held past the deadline: the operation is late, the API is not unreachable
        if (error instanceof XccError && Date.now() >= ctx.deadline) throw late()
        throw error
      }
      op = plain<Operation>(next)
      if (op.status === 'DONE') break
      if (Date.now() >= ctx.deadline) throw late()
      // `wait` returns at once only when the API does not hold it; do not spin
      if (Date.now() - started < 200) await sleep(250)
    }
    return op
  }
}

/** the error codes of a failed operation, with their messages */
export function operationErrors(op: Operation): Array<{code: string; message: string}> {
  return (op.error?.errors ?? []).map((e) => ({code: e.code ?? 'UNKNOWN', message: e.message ?? ''}))
}
