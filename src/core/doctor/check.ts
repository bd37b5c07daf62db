/**
 * A doctor check is a value (design.md habit 1): an id, the healthy state as its title, and a
 * pure run(ctx) over the gathered context. The registry lives in src/checks/index.ts.
 */
import type {NameResolution} from '../dns/resolve.js'
import type {Model} from '../topology/model-types.js'
import type {Flow} from '../trace/endpoints.js'
import {type TraceOptions, traceFlow} from '../trace/trace.js'
import type {Assumption, PathTrace, Step, TraceResult} from '../trace/types.js'

export type FindingStatus = 'pass' | 'fail' | 'warn' | 'skip' | 'error'

export interface Finding {
  readonly check: string
  readonly status: FindingStatus
  readonly summary: string
  readonly evidence?: readonly string[]
  readonly fix?: readonly string[]
  /** docs anchor: docs/checks.md#<id> */
  readonly docs: string
}

/**
 * A check over a gathered context: the static doctor's checks read the model and the trace
 * (DoctorContext); the live doctor's read what the probe and the captures saw.
 */
export interface Check<C = DoctorContext> {
  /** `<area>.<healthy-state>`, the file name in src/checks */
  readonly id: string
  /** the healthy state, in one line */
  readonly title: string
  readonly severity: 'error' | 'warning'
  /** the rules it implements (docs/rules.md) */
  readonly rules: readonly string[]
  run(ctx: C): Omit<Finding, 'check' | 'docs'>[]
}

/** Everything checks and the diagnosis read: gathered once, then only read (habit 2). */
export interface DoctorContext {
  readonly model: Model
  /** the kube contexts the user has (fixes name the real one of a cluster); empty when unknown */
  readonly contexts: readonly string[]
  readonly flow: Flow
  readonly trace: TraceResult
  /** the path the report shows: the first that fails (or the first, when all work) */
  readonly primary: PathTrace
  /** `--to NAME:PORT`: how the source pod resolved the name (the flow goes to its address) */
  readonly dns?: NameResolution
  /** traces the same flow under hypothetical fixes */
  retrace(assumptions: readonly Assumption[]): TraceResult
}

export function buildDoctorContext(model: Model, flow: Flow, options: TraceOptions & {contexts?: readonly string[]; dns?: NameResolution} = {}): DoctorContext {
  const trace = traceFlow(model, flow, options)
  const primary = trace.paths.find((p) => p.verdict === 'unknown') ?? trace.paths.find((p) => p.verdict !== 'reachable') ?? (trace.paths[0] as PathTrace)
  const cache = new Map<string, TraceResult>()
  return {
    model, flow, trace, primary, contexts: options.contexts ?? [], ...(options.dns ? {dns: options.dns} : {}),
    retrace(assumptions) {
      const key = JSON.stringify(assumptions)
      let result = cache.get(key)
      if (!result) cache.set(key, (result = traceFlow(model, flow, {...options, assumptions: [...(options.assumptions ?? []), ...assumptions]})))
      return result
    },
  }
}

export function checkDocs(id: string): string {
  return `docs/checks.md#${id.replace(/\./g, '')}`
}

/** the DROP or ABORT that ended a list of steps, if any */
export function endStep(steps: readonly Step[]): Step | undefined {
  const last = steps[steps.length - 1]
  return last && (last.step === 'DROP' || last.step === 'ABORT') ? last : undefined
}

/** the network a step happened in, when it happened in one (`network/<name>`) */
export function stepNetwork(s: Step): string | undefined {
  return s.host.kind === 'network' ? s.host.name : undefined
}

/** the instance or node a step happened on, if any */
export function stepInstance(s: Step): string | undefined {
  return s.host.kind === 'instance' || s.host.kind === 'node' ? s.host.name : undefined
}

/** the step happened on the flow's own source VM or node (not a pod of it) */
export function atSource(ctx: DoctorContext, s: Step): boolean {
  const source = ctx.flow.source
  return source.kind === 'instance' && (s.host.kind === 'instance' || s.host.kind === 'node') && s.host.name === source.instance.name
}

/** every path's forward and return steps, for checks that look at all alternatives */
/** every path's steps, forward, return or both, made once per trace (29 checks read them; a flow may have hundreds of paths) */
const stepLists = new WeakMap<TraceResult, Record<'forward' | 'return' | 'any', readonly Step[]>>()
function stepsOf(trace: TraceResult, where: 'forward' | 'return' | 'any'): readonly Step[] {
  let lists = stepLists.get(trace)
  if (!lists) {
    lists = {forward: trace.paths.flatMap((p) => p.forward), return: trace.paths.flatMap((p) => p.return), any: trace.paths.flatMap((p) => [...p.forward, ...p.return])}
    stepLists.set(trace, lists)
  }
  return lists[where]
}

export function allSteps(ctx: DoctorContext): readonly Step[] {
  return stepsOf(ctx.trace, 'any')
}

/** the first step, across all paths, dropped with one of `causes` */
export function findDrop(ctx: DoctorContext, causes: readonly string[], where: 'forward' | 'return' | 'any' = 'any'): Step | undefined {
  for (const p of ctx.trace.paths) {
    const lists = where === 'forward' ? [p.forward] : where === 'return' ? [p.return] : [p.forward, p.return]
    for (const steps of lists) {
      const end = endStep(steps)
      if (end?.cause && causes.includes(end.cause)) return end
    }
  }
  return undefined
}

export type FindingDraft = Omit<Finding, 'check' | 'docs'>

/**
 * The common shape of a trace-reading check: fail when a path was dropped at this check's
 * point, pass when the paths got past it, skip when no path reached it.
 */
export function judge(ctx: DoctorContext, options: {
  causes: readonly string[]
  where?: 'forward' | 'return' | 'any'
  reached: (step: Step) => boolean
  pass: (reached: readonly Step[]) => string
  fail?: (drop: Step) => string
  skip: string
}): FindingDraft[] {
  const dropped = findDrop(ctx, options.causes, options.where ?? 'any')
  if (dropped) return [{status: 'fail', summary: options.fail ? options.fail(dropped) : `${dropped.at}: ${dropped.detail}`, evidence: [`${dropped.at}: ${dropped.detail}`]}]
  const steps = stepsOf(ctx.trace, options.where ?? 'any').filter(options.reached)
  if (steps.length === 0) return [{status: 'skip', summary: options.skip}]
  return [{status: 'pass', summary: options.pass(steps)}]
}

export function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)]
}
