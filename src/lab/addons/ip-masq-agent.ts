/**
 * The lab's emulated ip-masq-agent (gcp-network-semantics.md §1.1): one per ipMasq cluster, in
 * the lab's background process, run as GKE runs its DaemonSet (`--masq-chain=IP-MASQ
 * --nomasq-all-reserved-ranges`, SNAT-12). It reads ConfigMap `kube-system/ip-masq-agent`, key
 * `config` (SNAT-01) — a missing ConfigMap or key is a missing file: all defaults (SNAT-03) — lays
 * it over the defaults, validates it (SNAT-04) and rewrites the IP-MASQ chain of every node it
 * governs atomically with `iptables-restore --noflush`, then ensures the POSTROUTING jump
 * (appended when missing, never reordered, SNAT-05).
 *
 * As the real agent: an invalid config keeps the previous one and leaves the chains untouched
 * (its resync loop returns before syncMasqRules); the loop sleeps the last valid config's
 * resyncInterval and then rewrites every chain again. Unlike the real agent, which only sees an
 * edit once the kubelet refreshed the mounted file, the lab reacts to the ConfigMap at once, and
 * tells about an invalid config with a Warning Event on the ConfigMap (reason InvalidConfig).
 *
 * Nodes with their own `iptables` in the topology are not governed by `masquerade` (their rules
 * replace it): the agent leaves them alone.
 */
import {type AgentConfig, type AgentFlags, CONFIG_KEY, CONFIG_MAP_NAME, CONFIG_MAP_NAMESPACE, GKE_AGENT_FLAGS, agentJumpRule, goDurationMs, parseAgentConfig, renderAgentChain, validateAgentConfig} from '../../core/topology/ip-masq-agent.js'
import type {Model} from '../../core/topology/model-types.js'
import type {AddonContext} from '../kube/index.js'
import type {ResourceType} from '../kube/resources.js'
import type {StoreEvent} from '../kube/store.js'
import {type KubeObject, isPlainObject} from '../kube/types.js'
import type {LabPlan} from '../compile/types.js'

export const AGENT_COMPONENT = 'ip-masq-agent'
/** Event reasons on the ConfigMap */
export const INVALID_CONFIG_REASON = 'InvalidConfig'
export const SYNCED_REASON = 'RulesSynced'
export const SYNC_FAILED_REASON = 'SyncFailed'

/** the resync period is held within these bounds (a 0 or negative interval would spin the real agent) */
export const RESYNC_BOUNDS_MS = {min: 1000, max: 3_600_000} as const

/** A node whose chain the agent writes: its name and network namespace. */
export interface AgentNode {
  readonly name: string
  readonly ns: string
}

/** Writes one node's chain: `restore` through `iptables-restore --noflush`, then ensures `POSTROUTING <jump>`. */
export interface ChainWriter {
  write(node: AgentNode, restore: string, jump: readonly string[]): Promise<void>
}

export type AgentDecision =
  | {readonly ok: true; readonly config: AgentConfig; readonly restore: string; readonly fromFile: boolean}
  | {readonly ok: false; readonly error: string}

/**
 * SNAT-01/03/04: what the agent does with the ConfigMap as it is now (undefined: there is none).
 * The `config` key is the file; without it (or without the ConfigMap) the file is absent.
 */
export function decideAgentConfig(configMap: KubeObject | undefined, flags: AgentFlags = GKE_AGENT_FLAGS): AgentDecision {
  const data = isPlainObject(configMap?.data) ? configMap.data : {}
  const text = typeof data[CONFIG_KEY] === 'string' ? data[CONFIG_KEY] : undefined
  const parsed = parseAgentConfig(text, flags)
  if (!parsed.ok) return {ok: false, error: parsed.error}
  const errors = validateAgentConfig(parsed.config, flags)
  if (errors.length > 0) return {ok: false, error: errors.join('; ')}
  return {ok: true, config: parsed.config, restore: renderAgentChain(parsed.config, flags.masqChain), fromFile: text !== undefined}
}

/** How long the agent sleeps after a sync: the config's resyncInterval, held within bounds. */
export function resyncDelayMs(config: AgentConfig, bounds: {min: number; max: number} = RESYNC_BOUNDS_MS): number {
  const ms = goDurationMs(config.resyncInterval) ?? 60_000
  return Math.min(bounds.max, Math.max(bounds.min, ms))
}

/** The nodes of a cluster the agent governs: masquerade from ipMasq, no `iptables` of their own. */
export function agentNodes(model: Model, plan: LabPlan, cluster: string): AgentNode[] {
  const facts = model.clusters.get(cluster)
  if (!facts || !('ipMasq' in facts.spec.masquerade)) return []
  const out: AgentNode[] = []
  for (const node of facts.nodes) {
    if (node.masqueradeOrigin !== 'ipMasq') continue
    const host = plan.hosts[`node/${node.name}`]
    if (host) out.push({name: node.name, ns: host.ns})
  }
  return out
}

export interface IpMasqAgentOptions {
  readonly nodes: readonly AgentNode[]
  readonly writer: ChainWriter
  readonly flags?: AgentFlags
  readonly resyncBounds?: {min: number; max: number}
  readonly log?: (message: string) => void
}

export class IpMasqAgent {
  private readonly context: AddonContext
  private readonly options: IpMasqAgentOptions
  private readonly flags: AgentFlags
  private readonly configMaps: ResourceType
  /** the config in effect: the defaults until a valid one is read (SNAT-04 keeps it on errors) */
  private config: AgentConfig
  /** what each node's chain was last written with (absent: never, or the write failed) */
  private readonly applied = new Map<string, string>()
  private pending = false
  private pendingResync = false
  private busy = false
  private running: Promise<void> = Promise.resolve()
  private stopped = false
  private timer?: NodeJS.Timeout
  private unsubscribe?: () => void
  /** completed syncs (a valid config written, or found already in place), for tests and logs */
  syncs = 0

  constructor(context: AddonContext, options: IpMasqAgentOptions) {
    this.context = context
    this.options = options
    this.flags = options.flags ?? GKE_AGENT_FLAGS
    this.configMaps = context.store.registry.get('configmaps')
    const defaults = parseAgentConfig(undefined, this.flags)
    if (!defaults.ok) throw new Error(defaults.error)
    this.config = defaults.config
  }

  /** The config in effect. */
  get current(): AgentConfig {
    return this.config
  }

  /** Watches the ConfigMap and resolves once the first sync is done (the agent has taken the chains over). */
  start(): Promise<void> {
    this.unsubscribe = this.context.store.subscribe((event: StoreEvent) => {
      const meta = event.object.metadata
      if (event.resource === this.configMaps && meta.namespace === CONFIG_MAP_NAMESPACE && meta.name === CONFIG_MAP_NAME) this.request(false)
    })
    this.request(true)
    return this.idle()
  }

  /** Resolves when no sync is running or waiting. */
  async idle(): Promise<void> {
    while (this.busy) await this.running
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.unsubscribe?.()
    clearTimeout(this.timer)
    await this.running
  }

  /** A sync is due; `resync`: rewrite every chain even when the config did not change. */
  private request(resync: boolean): void {
    if (this.stopped) return
    this.pending = true
    this.pendingResync ||= resync
    if (this.busy) return
    this.busy = true
    this.running = this.drain()
  }

  /** One sync at a time; each reads the ConfigMap as it is then, so the last config wins. */
  private async drain(): Promise<void> {
    try {
      // never write (events) from inside the store's listener that asked for the sync
      await new Promise((resolve) => setImmediate(resolve))
      while (this.pending && !this.stopped) {
        const resync = this.pendingResync
        this.pending = false
        this.pendingResync = false
        await this.sync(resync)
      }
    } finally {
      this.busy = false
    }
    if (!this.stopped) this.arm()
  }

  /** The resync loop sleeps the interval of the config in effect. */
  private arm(): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.request(true), resyncDelayMs(this.config, this.options.resyncBounds))
    this.timer.unref()
  }

  private async sync(resync: boolean): Promise<void> {
    const configMap = this.context.store.get(this.configMaps, CONFIG_MAP_NAMESPACE, CONFIG_MAP_NAME)
    const decision = decideAgentConfig(configMap, this.flags)
    if (!decision.ok) {
      // SNAT-04: syncConfig returns the error before it assigns the config; the rules are not synced
      const message = `error syncing configuration: ${decision.error}; keeping the previous configuration (${summary(this.config)})`
      this.options.log?.(`ip-masq-agent: ${message}`)
      if (configMap) this.context.events.record(configMap, 'Warning', INVALID_CONFIG_REASON, message, AGENT_COMPONENT)
      return
    }
    this.config = decision.config
    const due = this.options.nodes.filter((n) => resync || this.applied.get(n.name) !== decision.restore)
    if (due.length === 0) {
      this.syncs++
      return
    }
    const started = performance.now()
    const jump = agentJumpRule(this.flags.masqChain)
    const failures: string[] = []
    await Promise.all(due.map(async (node) => {
      try {
        await this.options.writer.write(node, decision.restore, jump)
        this.applied.set(node.name, decision.restore)
      } catch (error) {
        this.applied.delete(node.name)
        failures.push(`${node.name}: ${(error as Error).message}`)
      }
    }))
    this.syncs++
    const ms = Math.round(performance.now() - started)
    const what = `${this.flags.masqChain} on ${due.length - failures.length} of ${due.length} node(s) (${summary(decision.config)}${decision.fromFile ? '' : ', no config file: defaults'})`
    this.options.log?.(`ip-masq-agent: ${resync ? 'resynced' : 'rewrote'} ${what} in ${ms} ms${failures.length ? `; failed: ${failures.join('; ')}` : ''}`)
    const current = this.context.store.get(this.configMaps, CONFIG_MAP_NAMESPACE, CONFIG_MAP_NAME)
    if (!current || this.stopped) return
    if (failures.length > 0) this.context.events.record(current, 'Warning', SYNC_FAILED_REASON, `could not write ${this.flags.masqChain}: ${failures.join('; ')}`, AGENT_COMPONENT)
    else if (!resync) this.context.events.record(current, 'Normal', SYNCED_REASON, `wrote ${what}`, AGENT_COMPONENT)
  }
}

function summary(config: AgentConfig): string {
  return `nonMasqueradeCIDRs [${config.nonMasqueradeCIDRs.join(', ')}], masqLinkLocal ${config.masqLinkLocal}, resyncInterval ${config.resyncInterval}`
}
