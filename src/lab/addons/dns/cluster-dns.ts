/**
 * The lab's cluster DNS controller, one per cluster in the lab's background process: it keeps
 * the DNS pod's dnsmasq fed from the emulated API. Services, Endpoints and pods as they come and
 * go become its hosts file (records.ts); the provider's ConfigMap (`kube-dns`: stubDomains and
 * upstreamNameservers; `coredns`: the Corefile) becomes its servers file and extra hosts
 * (config.ts). Changes are debounced (DEBOUNCE_MS), written only when the files' text changes,
 * and take effect by a SIGHUP, which makes dnsmasq re-read both files and drop its cache. kube-dns
 * restarts dnsmasq instead; the effect on answers is the same. An invalid ConfigMap keeps the
 * previous configuration, told with a Warning Event on it (reason InvalidConfig); what the lab
 * leaves out of a Corefile is a Warning Event too (reason NotEmulated).
 *
 * At start, and every RESYNC_MS after, it also ensures the kube-proxy rules that send the
 * kube-dns Service's ClusterIP to the DNS pod on every node of the cluster (a change of the
 * lab through the cloud APIs may have restored a node's nat table).
 */
import {COREDNS_CONFIG_MAP, COREFILE_KEY, type ClusterDnsPlan, DNS_NAMESPACE, KUBE_DNS_CONFIG_MAP} from '../../compile/dns.js'
import type {AddonContext} from '../../kube/index.js'
import type {ResourceType} from '../../kube/resources.js'
import type {StoreEvent} from '../../kube/store.js'
import {type KubeObject, isPlainObject} from '../../kube/types.js'
import {type ForwardConfig, EMPTY_CONFIG, corednsConfig, kubeDnsConfig} from './config.js'
import {clusterRecords} from './records.js'

export const DNS_COMPONENT = 'xcc-lab-dns'
export const INVALID_CONFIG_REASON = 'InvalidConfig'
export const NOT_EMULATED_REASON = 'NotEmulated'
const DEBOUNCE_MS = 150
const RESYNC_MS = 30_000

export interface DnsFiles {
  readonly hosts: string
  readonly servers: string
}

/** The DNS server's host side (src/lab/runtime/dns-server.ts): its files, its process, the nodes' rules. */
export interface DnsServerHost {
  /** writes both files atomically */
  write(files: DnsFiles): Promise<void>
  /** makes the running server re-read its files; false when none runs (it reads them when it starts) */
  reload(): Promise<boolean>
  /** ensures the kube-proxy rules of the kube-dns Service on every node of the cluster */
  ensureServiceRules(): Promise<void>
  /** the server runs and has taken its files (it answers) */
  serving(): Promise<boolean>
}

export class ClusterDns {
  private readonly resources: {services: ResourceType; endpoints: ResourceType; pods: ResourceType; configMaps: ResourceType}
  private config: ForwardConfig = EMPTY_CONFIG
  private written?: string
  private lastNotes = ''
  private timer?: NodeJS.Timeout
  private resync?: NodeJS.Timeout
  private running: Promise<void> = Promise.resolve()
  private pending = false
  private busy = false
  private stopped = false
  private unsubscribe?: () => void
  private rules?: Promise<void>
  /** completed reloads, for tests and logs */
  reloads = 0

  constructor(private readonly context: AddonContext, private readonly plan: ClusterDnsPlan, private readonly host: DnsServerHost, private readonly log: (message: string) => void = () => {}) {
    const r = context.store.registry
    this.resources = {services: r.get('services'), endpoints: r.get('endpoints'), pods: r.get('pods'), configMaps: r.get('configmaps')}
  }

  private get configMapName(): string {
    return this.plan.provider === 'CoreDNS' ? COREDNS_CONFIG_MAP : KUBE_DNS_CONFIG_MAP
  }

  async start(): Promise<void> {
    const {services, endpoints, pods, configMaps} = this.resources
    this.unsubscribe = this.context.store.subscribe((event: StoreEvent) => {
      if (event.resource === services || event.resource === endpoints || event.resource === pods) this.request()
      else if (event.resource === configMaps && event.object.metadata.namespace === DNS_NAMESPACE && event.object.metadata.name === this.configMapName) this.request()
    })
    // the files exist before the DNS pod's server starts (it is started after the addons)
    this.pending = true
    this.busy = true
    this.running = this.drain()
    await this.running
  }

  /**
   * Writes the kube-proxy rules (the daemon calls it once every API server runs), then resolves
   * once the server runs, or after `timeoutMs` (false, logged; 0: no wait): the lab is up either
   * way, its DNS a moment later.
   */
  async ready(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs
    // written once every API server runs, not while the next cluster's starts
    if (!this.rules) {
      this.rules = this.host.ensureServiceRules().catch((error: Error) => this.log(`dns: kube-proxy rules: ${error.message}`))
      this.armResync()
    }
    if (timeoutMs <= 0) return false
    // the whole wait is bounded, the rules' included (a large lab writes many nodes at once)
    let timer: NodeJS.Timeout | undefined
    const late = await Promise.race([this.rules.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)))])
    clearTimeout(timer)
    while (!this.stopped && !late) {
      if (await this.host.serving()) return true
      if (performance.now() > deadline) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    this.log(`dns: the DNS pod ${this.plan.podName} does not serve yet after ${timeoutMs} ms`)
    return false
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.unsubscribe?.()
    clearTimeout(this.timer)
    clearTimeout(this.resync)
    await this.running
  }

  /** Resolves when no sync is waiting or running. */
  async idle(): Promise<void> {
    while (this.busy || this.timer) await (this.busy ? this.running : new Promise((resolve) => setTimeout(resolve, DEBOUNCE_MS)))
  }

  private request(): void {
    if (this.stopped) return
    this.pending = true
    if (this.busy || this.timer) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      if (this.busy || this.stopped) return
      this.busy = true
      this.running = this.drain()
    }, DEBOUNCE_MS)
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending && !this.stopped) {
        this.pending = false
        await this.sync()
      }
    } catch (error) {
      this.log(`dns: ${(error as Error).message}`)
    } finally {
      this.busy = false
    }
  }

  private armResync(): void {
    if (this.stopped) return
    this.resync = setTimeout(() => {
      void this.host.ensureServiceRules().catch((error: Error) => this.log(`dns: kube-proxy rules: ${error.message}`)).finally(() => this.armResync())
    }, RESYNC_MS)
    this.resync.unref()
  }

  private readConfig(): void {
    const configMap = this.context.store.get(this.resources.configMaps, DNS_NAMESPACE, this.configMapName)
    const data = isPlainObject(configMap?.data) ? (configMap.data as Record<string, unknown>) : undefined
    const corefile = typeof data?.[COREFILE_KEY] === 'string' ? (data[COREFILE_KEY] as string) : undefined
    const decision = this.plan.provider === 'CoreDNS' ? corednsConfig(corefile) : kubeDnsConfig(data)
    if (!decision.ok) {
      const message = `invalid configuration, keeping the previous one: ${decision.error}`
      this.log(`dns: ${message}`)
      if (configMap) this.warn(configMap, INVALID_CONFIG_REASON, message)
      return
    }
    this.config = decision.config
    const notes = decision.config.notes.join('; ')
    if (notes && notes !== this.lastNotes && configMap) this.warn(configMap, NOT_EMULATED_REASON, `the lab's ${this.plan.provider} leaves out: ${notes}`)
    this.lastNotes = notes
  }

  private warn(object: KubeObject, reason: string, message: string): void {
    this.context.events.record(object, 'Warning', reason, message, DNS_COMPONENT)
  }

  private async sync(): Promise<void> {
    this.readConfig()
    const records = clusterRecords({
      services: this.context.store.list(this.resources.services),
      endpoints: this.context.store.list(this.resources.endpoints),
      pods: this.context.store.list(this.resources.pods),
    })
    const files: DnsFiles = {
      hosts: `${[...this.config.hosts, ...records].join('\n')}\n`,
      servers: `${this.config.servers.join('\n')}\n`,
    }
    const text = JSON.stringify(files)
    if (text === this.written) return
    await this.host.write(files)
    this.written = text
    if (await this.host.reload()) this.reloads++
    this.log(`dns: ${records.length} records, ${this.config.servers.length} forward rules${this.config.servers.length ? ` (${this.config.servers.join(', ')})` : ''}`)
  }
}
