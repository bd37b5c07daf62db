/**
 * Runs the `xcc dns link` responder's pods in the lab (src/lab/addons/dns/responder.ts): a
 * container of the CoreDNS image, started with `-conf DIR/Corefile` where DIR is the mount path
 * of a ConfigMap volume, runs dnsmasq instead, on files made from that ConfigMap under
 * `<sandboxes>/.responder/<pod uid>/<container>` (root's, readable by the container's user).
 * The pod "mounts" the ConfigMap: when it changes, the files are rewritten and the dnsmasq gets
 * a SIGHUP (CoreDNS's `reload` and the file plugin's serial check see it within their interval;
 * the lab at once). A ConfigMap that is missing, or a Corefile that does not parse, makes the
 * container exit 1 with the reason on stderr, as CoreDNS fails to start.
 *
 * Every other container goes to the wrapped runtime unchanged.
 */
import {mkdirSync, readFileSync, rmSync} from 'node:fs'
import {writeAtomic} from './state.js'
import {dirname, join} from 'node:path'

import {COREDNS_IMAGE, responderConfig, responderDnsmasqConf, responderHosts} from '../addons/dns/responder.js'
import type {AddonContext} from '../kube/index.js'
import type {ContainerStartSpec, PodRuntime, RunningProcess} from '../kube/runtime.js'
import type {StoreEvent} from '../kube/store.js'
import {type Container, type KubeObject, isPlainObject} from '../kube/types.js'

interface Running {
  readonly cluster: string
  readonly namespace: string
  readonly configMap: string
  readonly mountDir: string
  readonly corefileKey: string
  readonly dir: string
  readonly pid: number
}

/** where the ConfigMap a CoreDNS container reads its Corefile from is mounted, and its name */
export function corefileSource(pod: KubeObject, container: Container): {configMap: string; mountDir: string; corefileKey: string} | undefined {
  if (!COREDNS_IMAGE.test(container.image ?? '') || (container.command ?? []).length > 0) return undefined
  const args = container.args ?? []
  const conf = args[args.indexOf('-conf') + 1]
  if (args.indexOf('-conf') < 0 || !conf?.startsWith('/')) return undefined
  const mountDir = dirname(conf)
  const mounts = (Array.isArray(container.volumeMounts) ? container.volumeMounts : []) as Array<{name?: string; mountPath?: string}>
  const mount = mounts.find((m) => (m.mountPath ?? '').replace(/\/$/, '') === mountDir)
  const spec = (pod.spec ?? {}) as {volumes?: Array<{name?: string; configMap?: {name?: string}}>}
  const volume = (spec.volumes ?? []).find((v) => v.name === mount?.name)
  const configMap = volume?.configMap?.name
  return configMap ? {configMap, mountDir, corefileKey: conf.slice(mountDir.length + 1)} : undefined
}


export class ResponderStandIns implements PodRuntime {
  private readonly stores = new Map<string, AddonContext>()
  private readonly running = new Set<Running>()

  /** `clusterOf`: the cluster a node belongs to */
  constructor(private readonly inner: PodRuntime, private readonly sandboxes: string, private readonly clusterOf: (node: KubeObject) => string | undefined) {}

  setupPodNetwork(pod: KubeObject, node: KubeObject) {
    return this.inner.setupPodNetwork(pod, node)
  }

  teardownPodNetwork(pod: KubeObject, node: KubeObject) {
    return this.inner.teardownPodNetwork(pod, node)
  }

  async releasePod(pod: KubeObject): Promise<void> {
    rmSync(join(this.sandboxes, '.responder', pod.metadata.uid ?? '-'), {recursive: true, force: true})
    await this.inner.releasePod?.(pod)
  }

  nodeAddress(node: KubeObject): string | undefined {
    return this.inner.nodeAddress?.(node)
  }

  /** the addon of one cluster: its store, and the reloads when a mounted ConfigMap changes */
  addon(cluster: string, context: AddonContext): {start(): void; stop(): void} {
    let unsubscribe: (() => void) | undefined
    return {
      start: () => {
        this.stores.set(cluster, context)
        unsubscribe = context.store.subscribe((event: StoreEvent) => {
          if (event.resource.kind !== 'ConfigMap' || event.resource.group !== '') return
          for (const r of this.running) {
            if (r.cluster === cluster && r.namespace === event.object.metadata.namespace && r.configMap === event.object.metadata.name) this.reload(r)
          }
        })
      },
      stop: () => {
        unsubscribe?.()
        this.stores.delete(cluster)
      },
    }
  }

  private configMapData(cluster: string, namespace: string, name: string): Record<string, string> | undefined {
    const context = this.stores.get(cluster)
    const cm = context?.store.get(context.store.registry.get('configmaps'), namespace, name)
    if (!cm) return undefined
    const data = isPlainObject(cm.data) ? cm.data : {}
    return Object.fromEntries(Object.entries(data).filter((e): e is [string, string] => typeof e[1] === 'string'))
  }

  /** writes the dnsmasq files; the reason it cannot serve, if any */
  private writeFiles(r: Omit<Running, 'pid'>): string | undefined {
    const data = this.configMapData(r.cluster, r.namespace, r.configMap)
    if (!data) return `configmap "${r.configMap}" not found`
    const config = responderConfig(data, r.mountDir, r.corefileKey)
    if (!config.ok) return config.error
    writeAtomic(join(r.dir, 'hosts'), responderHosts(config.zones), 0o644)
    writeAtomic(join(r.dir, 'dnsmasq.conf'), `${responderDnsmasqConf(r.dir, config.zones)}user=root\n`, 0o644)
    return undefined
  }

  private reload(r: Running): void {
    const error = this.writeFiles(r)
    // an invalid edit keeps the zones served until a restart, as CoreDNS's reload keeps the old config
    if (error) return
    try {
      if (readFileSync(`/proc/${r.pid}/comm`, 'utf8').trim() === 'dnsmasq') process.kill(r.pid, 'SIGHUP')
    } catch {
      // gone: the next start reads the files
    }
  }

  start(spec: ContainerStartSpec): RunningProcess {
    const pod = spec.pod
    const container = ((pod.spec ?? {}) as {containers?: Container[]}).containers?.find((c) => c.name === spec.container)
    const source = container && corefileSource(pod, container)
    const cluster = this.clusterOf(spec.node)
    if (!source || !cluster) return this.inner.start(spec)
    const dir = join(this.sandboxes, '.responder', pod.metadata.uid ?? '-', spec.container)
    mkdirSync(dir, {recursive: true, mode: 0o755})
    const base = {cluster, namespace: pod.metadata.namespace ?? 'default', ...source, dir}
    const error = this.writeFiles(base)
    const command = error
      ? ['sh', '-c', 'printf "%s\\n" "$1" >&2; exit 1', 'coredns', `plugin/file: ${error}`]
      : ['dnsmasq', '--keep-in-foreground', `--conf-file=${dir}/dnsmasq.conf`]
    const process_ = this.inner.start({...spec, command})
    if (!error) {
      const running: Running = {...base, pid: process_.pid}
      this.running.add(running)
      void process_.exited.then(() => this.running.delete(running))
    }
    return process_
  }
}
