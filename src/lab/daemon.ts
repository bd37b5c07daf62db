/**
 * The lab's background process (`xcc lab up` starts it detached): one emulated Kubernetes API
 * server per cluster of the topology, whose kubelet runs pods as processes in the lab's
 * namespaces, plus the echo servers of VMs and nodes. It writes `daemon.ready.json` when every
 * server listens, and on SIGTERM stops its servers and processes. Every ipMasq cluster also gets
 * the emulated ip-masq-agent, which rewrites its nodes' IP-MASQ chains from the ConfigMap
 * (SNAT-01…05); the daemon is ready once each agent has synced once. Beside them it serves the
 * lab's cloud (src/lab/cloud: Compute Engine and GKE on one port), whose tokens the Kubernetes API
 * servers accept too, as GKE accepts Google tokens; the lab's VMs boot (their startup scripts run)
 * once everything listens. Every cluster also gets its DNS (compile/dns.ts, addons/dns): a kube-dns
 * Service backed by a dnsmasq pod that the emulated API feeds, and every pod's resolver pointing
 * at it; the daemon is ready once each cluster's DNS serves (at most DNS_READY_MS). Usage:
 * daemon.js <lab dir>
 */
import {accessSync, constants, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {parseTopology} from '../core/topology/parse.js'
import {IpMasqAgent, agentNodes} from './addons/ip-masq-agent.js'
import {ClusterDns} from './addons/dns/cluster-dns.js'
import {type ClusterDnsPlan, DNS_NAMESPACE, DNS_SERVICE, clusterDnsPlan, podResolvConf} from './compile/dns.js'
import {NetnsDnsServer, dnsmasqCommand} from './runtime/dns-server.js'
import {ResponderStandIns} from './runtime/responder-standin.js'
import {NetnsNatWriter} from './runtime/nat-writer.js'
import {KubeProxy} from './addons/kube-proxy.js'
import {type AddonContext, type KubeApiServer, startKubeApiServer} from './kube/index.js'
import type {KubeObject} from './kube/types.js'
import {clusterObjects} from './compile/kube-objects.js'
import {NetnsPodRuntime, prepareSandboxes} from './runtime/pod-runtime.js'
import {NetnsChainWriter} from './runtime/masq-chain.js'
import {clusterPki, type Pki} from './runtime/pki.js'
import {echoCommand, installEchoServer, startEchoServer, stopProcessGroup} from './runtime/servers.js'
import {LAB_TOKEN_ENV} from './runtime/owner.js'
import {paths, readState, writeAtomic} from './runtime/state.js'
import {type CloudTokens, cloudAccount} from './cloud/auth.js'
import {FaultInjector} from './cloud/faults.js'
import {readCloudTokens} from './cloud/lab-files.js'
import {type CloudServer, startCloudServer} from './cloud/server.js'
import {CloudStore, DEFAULT_PROJECT} from './cloud/store.js'
import {labSerialConsoles} from './compute/serial.js'
import {applyModelChange} from './runtime/apply.js'
import {type ClusterEndpoint, PRIVATE_ENDPOINT_HOST, tokenIssuer} from './container/clusters.js'
import {hmsSeconds} from '../core/duration.js'
import {DEFAULT_PATH} from './kube/controllers/pod-env.js'
import {formatCidr, formatIp} from '../core/net/ipv4.js'

/** what GKE grants a TokenRequest at most */
const GKE_MAX_TOKEN_EXPIRATION = '48h'

/** how long the lab waits for its DNS pods before it says it is ready anyway */
const DNS_READY_MS = 2000

async function main(dir: string): Promise<void> {
  // the token stays in this process's own environment (/proc/<pid>/environ, root's to read), the
  // proof for `lab down`; the processes it starts do not inherit it
  delete process.env[LAB_TOKEN_ENV]
  const p = paths(dir)
  const state = readState(dir)
  if (!state) throw new Error(`no lab state in ${dir}`)
  const model = parseTopology(readFileSync(p.topology, 'utf8'), p.topology)
  const pki = JSON.parse(readFileSync(p.pki, 'utf8')) as Pki
  const sandboxes = prepareSandboxes(state.name)
  // cluster DNS (compile/dns.ts): each cluster's server, and every pod's resolver pointing at it
  const dnsPlans = new Map<string, ClusterDnsPlan>()
  const dnsIPs = new Map<string, string>()
  for (const cluster of model.clusters.values()) {
    const dns = clusterDnsPlan(cluster)
    if (dns) dnsPlans.set(cluster.name, dns)
    // a declared kube-dns without a pod to run in still is every pod's nameserver, as on the cluster
    const declared = cluster.services.find((s) => s.namespace === DNS_NAMESPACE && s.name === DNS_SERVICE)
    const ip = dns?.serviceIP ?? (declared ? formatIp(declared.clusterIP) : undefined)
    if (ip) dnsIPs.set(cluster.name, ip)
  }
  const runtime = new NetnsPodRuntime(state.name, model, state.plan, sandboxes, (pod, node) => {
    const cluster = model.nodes.get(node.metadata.name as string)?.cluster
    const ip = cluster ? dnsIPs.get(cluster) : undefined
    const spec = (pod.spec ?? {}) as {hostNetwork?: boolean; dnsPolicy?: string; dnsConfig?: Parameters<typeof podResolvConf>[0]['dnsConfig']}
    return ip ? podResolvConf({namespace: pod.metadata.namespace ?? 'default', hostNetwork: spec.hostNetwork === true, dnsPolicy: spec.dnsPolicy, dnsConfig: spec.dnsConfig}, ip) : undefined
  })
  // the `xcc dns link` responder's CoreDNS pods run a stand-in (runtime/responder-standin.ts)
  const pods = new ResponderStandIns(runtime, sandboxes, (node) => model.nodes.get(node.metadata.name as string)?.cluster)
  const dnsmasq = dnsPlans.size > 0 && dnsmasqOnPath()
  if (dnsPlans.size > 0 && !dnsmasq) log('cluster DNS: dnsmasq is not installed (Debian package dnsmasq-base): the DNS pods cannot start')
  // pods run their echo server from a copy every uid can read
  const podEchoServer = installEchoServer(join(sandboxes, '.bin'))
  const podEcho = (name: string, ports: readonly number[]): string[] => echoCommand(name, ports, podEchoServer)
  const servers: KubeApiServer[] = []
  const project = model.topology.metadata.project ?? DEFAULT_PROJECT
  const tokens = readCloudTokens({adminTokenFile: p.cloudAdminToken, viewerTokenFile: p.cloudViewerToken})
  // set once the cloud listens; stop() closes it if it got that far
  const cloud: {server?: CloudServer} = {}
  const writer = new NetnsChainWriter()
  const natWriter = new NetnsNatWriter()
  const echo = state.plan.servers.map((s) => startEchoServer(s.ns, s.ref, s.tcpPorts))
  let stopping = false
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return
    stopping = true
    log(`stopping (${signal})`)
    // an echo server a change of the lab stopped is gone, and its group id may be someone else's by now
    for (const c of echo) if (c.pid && c.exitCode === null && c.signalCode === null) stopProcessGroup(c.pid, 'SIGKILL')
    await Promise.allSettled([...servers.map((s) => s.close()), cloud.server?.close()])
    process.exit(0)
  }
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => void stop(signal))
  const dnsPod = new Map<string, () => {pod: KubeObject; node: KubeObject} | undefined>()
  const dnsControllers: ClusterDns[] = []
  for (const cluster of model.clusters.values()) {
    const certs = clusterPki(pki, cluster.name)
    const logDir = join(p.logs, cluster.name)
    const dns = dnsPlans.get(cluster.name)
    // an adopted kube-dns (the topology's own Service) has its kube-proxy rules in the nodes' already
    const ruleNodes = dns?.adopted ? [] : cluster.nodes.map((n) => state.plan.hosts[`node/${n.name}`]?.ns).filter((ns): ns is string => ns !== undefined)
    const dnsServer = dns && new NetnsDnsServer(sandboxes, dns, ruleNodes, () => {
      const pod = dnsPod.get(cluster.name)?.()
      return pod ? runtime.podNamespace(pod.pod, pod.node) : undefined
    })
    const clusterLog = (m: string): void => log(`cluster ${cluster.name}: ${m}`)
    const server = await startKubeApiServer({
      clusterName: cluster.name,
      tls: {key: certs.server.key, cert: certs.server.cert, caCert: certs.ca.cert},
      // the private endpoint: the same API on a second loopback address
      extraHosts: [PRIVATE_ENDPOINT_HOST],
      // tokens as GKE issues them: its issuer, at most 48 h unless the topology says otherwise
      serviceAccounts: {issuer: tokenIssuer(project, cluster.spec), maxTokenExpirationSeconds: hmsSeconds(cluster.spec.serviceAccountMaxTokenExpiration ?? GKE_MAX_TOKEN_EXPIRATION)},
      runtime: pods,
      // a Service created through the API gets its ClusterIP from the cluster's services range, as on GKE
      serviceClusterIpRange: formatCidr(cluster.serviceRange),
      logDir,
      staticTokens: googleTokenUsers(tokens, project),
      objects: [...clusterObjects(model, state.plan, cluster, podEcho, dns && dnsServer ? {plan: dns, command: dnsmasqCommand(dnsServer.dir)} : undefined) as unknown as KubeObject[], viewerBinding(project)],
      addons: [
        (context: AddonContext) => pods.addon(cluster.name, context),
        // kube-proxy for the Services of the API (the topology's and kube-dns have theirs already)
        (context: AddonContext) => new KubeProxy(context, {
          nodes: cluster.nodes.map((n) => state.plan.hosts[`node/${n.name}`]?.ns).filter((ns): ns is string => ns !== undefined),
          skip: new Set([...cluster.services.map((s) => `${s.namespace}/${s.name}`), ...(dns ? [`${DNS_NAMESPACE}/${DNS_SERVICE}`] : [])]),
          writer: natWriter,
          log: clusterLog,
        }),
        ...('ipMasq' in cluster.spec.masquerade ? [(context: AddonContext) => new IpMasqAgent(context, {nodes: agentNodes(model, state.plan, cluster.name), writer, log: clusterLog})] : []),
        ...(dns && dnsServer ? [(context: AddonContext) => {
          dnsPod.set(cluster.name, () => {
            const pod = context.store.get(context.store.registry.get('pods'), DNS_NAMESPACE, dns.podName)
            const node = context.store.get(context.store.registry.get('nodes'), undefined, dns.node)
            return pod && node ? {pod, node} : undefined
          })
          const controller = new ClusterDns(context, dns, dnsServer, clusterLog)
          dnsControllers.push(controller)
          return controller
        }] : []),
      ],
    })
    servers.push(server)
    log(`cluster ${cluster.name}: API server on ${server.url}`)
  }
  const endpoints = new Map<string, ClusterEndpoint>([...model.clusters.keys()].map((name, i) => {
    const server = servers[i] as KubeApiServer
    return [name, {endpoint: `127.0.0.1:${server.port}`, privateEndpoint: server.extraEndpoints[0], caCert: clusterPki(pki, name).ca.cert}]
  }))
  const consoles = labSerialConsoles(dir)
  // a write through the APIs reaches the running lab incrementally (runtime/apply.ts), VMs it adds boot there
  const store = new CloudStore({path: p.topology, model, hook: {apply: async (before, after) => void (await applyModelChange(dir, before, after))}, log})
  const server = await startCloudServer({store, tokens, serial: consoles, endpoints, faults: new FaultInjector(p.cloudFaults, log), log})
  cloud.server = server
  log(`cloud: Compute Engine and GKE APIs of project ${project} on ${server.url}`)
  // a pod's first query right after lab up is answered, not lost to a resolver timeout
  await Promise.all(dnsControllers.map((c) => c.ready(dnsmasq ? DNS_READY_MS : 0)))
  writeAtomic(p.ready, JSON.stringify({pid: process.pid, clusters: [...model.clusters.keys()].map((name, i) => ({name, port: (servers[i] as KubeApiServer).port})), cloud: {port: server.port, project}}))
  log('ready')
}

/** the lab's Google tokens as Kubernetes users: admin in system:masters, viewer bound to the view role (viewerBinding) */
function googleTokenUsers(tokens: CloudTokens, project: string): Map<string, {user: string; groups: string[]}> {
  return new Map([
    [tokens.admin, {user: cloudAccount(project, 'admin'), groups: ['system:masters']}],
    [tokens.viewer, {user: cloudAccount(project, 'viewer'), groups: []}],
  ])
}

function viewerBinding(project: string): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: {name: 'xcc-lab-cloud-viewer'},
    roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view'},
    subjects: [{apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: cloudAccount(project, 'viewer')}],
  } as unknown as KubeObject
}

/** dnsmasq where the DNS pods look for it (their PATH is the kubelet's default) */
function dnsmasqOnPath(): boolean {
  return DEFAULT_PATH.split(':').some((dir) => {
    try {
      accessSync(join(dir, 'dnsmasq'), constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`)
}

const dir = process.argv[2]
if (!dir) {
  process.stderr.write('usage: daemon.js <lab directory>\n')
  process.exit(2)
}
main(dir).catch((error: Error) => {
  log(`failed: ${error.stack ?? error.message}`)
  process.exit(1)
})
