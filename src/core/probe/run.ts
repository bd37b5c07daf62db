/**
 * The live doctor (design.md habit 5): check permissions, read the clusters, start captures on
 * the source node, the destination nodes and the gateways on the predicted path (in parallel),
 * prove each works with a sanity packet, run the probe, read what was captured, remove every
 * pod (also on failure and Ctrl-C), then compare observation with prediction and explain.
 * Everything outside goes through the ports (src/core/ports.ts).
 */
import {XccError} from '../errors.js'
import {checkNamespaceFlag} from '../names.js'
import type {KubeCluster, KubeEndpoints, KubeNode, KubePod, KubeService} from '../ports/kube.js'
import {type CaptureLog, buildCaptureFilter, parseCaptureLog} from './capture-log.js'
import {type CapturePoint, type Track, instanceCapture, observeCapture, podCapture} from './captures.js'
import {probeIsn} from './observe.js'
import {throwIfAborted} from '../kube/pods.js'
import {runProbe} from './probe-pod.js'
import {runLiveDoctorByName} from './dns-run.js'
import {type Created, type LiveDeps, type LiveEvent, removeCreated} from './run-deps.js'
import {type AccessNeed, checkAccess, checkPodSecurity, podAccess} from '../kube/access.js'
import {type LiveReport, assembleLiveReport} from './report.js'
import {type Destination, type LiveTo, addressDestination, chooseNode, serviceDestination, serviceOwning} from './targets.js'
import type {CaptureObservation, LiveRequest, ProbeObservation} from './types.js'
import {shellCommand} from '../shell.js'
import type {DestinationFacts} from './live-diagnose.js'
import {type OwnerSearch, findDestinationOwner} from './owner-search.js'

export type {LiveDeps, LiveEvent} from './run-deps.js'

/** how long each other context may take to say whether it owns the destination */
const OWNER_SEARCH_MS = 8000


/** after the probe ends, how long late packets (retransmits, resets) may still arrive */
const GRACE_MS = 100

export async function runLiveDoctor(req: LiveRequest, deps: LiveDeps): Promise<LiveReport> {
  const to = req.to
  // a name is resolved first, in the source pod's own resolver, then probed at its address
  if (to.kind === 'name') return runLiveDoctorByName({...req, to}, deps, (address) => probePath({...req, to: address}, deps))
  return probePath({...req, to}, deps)
}

async function probePath(req: LiveRequest & {readonly to: Exclude<LiveTo, {kind: 'name'}>}, deps: LiveDeps): Promise<LiveReport> {
  checkNamespaceFlag('--probe-namespace', req.probeNamespace)
  const w = {clock: deps.clock, signal: deps.signal}
  const event = (id: string, title: string, state: LiveEvent['state'], detail?: string): void => deps.onEvent({id, title, state, ...(detail ? {detail} : {})})
  const source = deps.kube.open(req.from.context)
  const dstContext = req.to.kind === 'service' ? req.to.context : req.toContext
  let target = dstContext === undefined ? undefined : dstContext === source.context ? source : deps.kube.open(dstContext)
  const ns = req.probeNamespace
  const t0 = deps.clock.now()
  const marks: Record<string, number> = {}
  const mark = (name: string): void => void (marks[name] = deps.clock.now())

  event('access', 'Check permissions and Pod Security', 'running')
  const sourceNeeds: AccessNeed[] = [
    ...podAccess(ns, 'run the capture and probe pods'),
    {verb: 'list', resource: 'nodes', why: 'find the nodes and their addresses', required: true},
    {verb: 'get', resource: 'configmaps', namespace: 'kube-system', why: 'read the ip-masq-agent configuration', required: false},
    {verb: 'get', resource: 'daemonsets', namespace: 'kube-system', why: 'tell GKE Dataplane V2 (anetd), which masquerades in eBPF (SNAT-15)', required: false},
    {verb: 'get', resource: 'namespaces', why: 'check the Pod Security level of the probe namespace', required: false},
  ]
  if (req.from.pod) {
    sourceNeeds.push({verb: 'get', resource: 'pods', namespace: req.from.pod.namespace, why: `read pod ${req.from.pod.name}`, required: true})
    sourceNeeds.push({verb: 'patch', resource: 'pods', subresource: 'ephemeralcontainers', namespace: req.from.pod.namespace, why: 'probe from inside the pod with an ephemeral container', required: false})
  }
  const targetNeeds: AccessNeed[] = target && target !== source ? [...podAccess(ns, 'capture on the destination nodes'), {verb: 'list', resource: 'nodes', why: 'find the destination nodes', required: true}, {verb: 'get', resource: 'namespaces', why: 'check the Pod Security level', required: false}] : []
  if (target) {
    if (req.to.kind === 'service') {
      targetNeeds.push({verb: 'get', resource: 'services', namespace: req.to.namespace, why: `read service ${req.to.name}`, required: true})
      targetNeeds.push({verb: 'get', resource: 'endpoints', namespace: req.to.namespace, why: `find the endpoints of ${req.to.name}`, required: false})
    } else {
      targetNeeds.push({verb: 'list', resource: 'services', why: `find what owns ${req.to.ip}:${req.to.port}`, required: false})
    }
  }
  // reads start with the permission checks (nothing is created before they pass): one round trip less
  const nodesSoon = later(Promise.all([source.listNodes(), target && target !== source ? target.listNodes() : Promise.resolve(undefined)]))
  const [sourceDenied, targetDenied] = await Promise.all([checkAccess(source, sourceNeeds), target && targetNeeds.length > 0 ? checkAccess(target, targetNeeds) : Promise.resolve([])])
  const denied = (list: readonly AccessNeed[], verb: string, resource: string) => list.some((d) => d.verb === verb && (d.subresource ? `${d.resource}/${d.subresource}` : d.resource) === resource)
  const notes: string[] = []
  const security = await Promise.all(([[source, sourceDenied], [target, targetDenied]] as const).map(([cluster, list]) => (cluster ? checkPodSecurity(cluster, ns, !denied(list, 'get', 'namespaces')) : undefined)))
  for (const note of security) if (note) notes.push(note)
  event('access', 'Check permissions and Pod Security', 'done')
  mark('preflight')

  event('facts', 'Read nodes, pods and services', 'running')
  const [sourceNodes, targetNodes] = await nodesSoon()
  let userPod: KubePod | undefined
  if (req.from.pod) {
    userPod = await source.getPod(req.from.pod.namespace, req.from.pod.name)
    if (!userPod) throw new XccError(`--from ${req.from.context}/${req.from.pod.namespace}/${req.from.pod.name}: no such pod in context "${req.from.context}"`, {hint: shellCommand(['kubectl', '--context', req.from.context, '-n', req.from.pod.namespace, 'get', 'pods'])})
    if (userPod.status?.phase !== 'Running' || !userPod.spec.nodeName) throw new XccError(`pod ${req.from.pod.namespace}/${req.from.pod.name} is not running (phase ${userPod.status?.phase ?? 'unknown'}), so it cannot be probed from`, {hint: 'probe from the context instead (--from <context>)'})
  }
  const node = userPod ? chooseNode(sourceNodes, userPod.spec.nodeName, source.context) : chooseNode(sourceNodes, req.node, source.context)
  const cluster = deps.prediction?.clusterFor(source.context, sourceNodes.map((n) => n.metadata.name))
  if (deps.prediction && !cluster) throw new XccError(`the --topology file has no cluster for context "${source.context}" (by name or by its nodes)`, {hint: 'name the cluster after the context, or describe its nodes with the names kubectl get nodes prints'})
  // the topology (a file, or the cloud read through the APIs) knows where the path ends: capture there
  const predicted = req.to.kind === 'address' && !target && deps.prediction && cluster ? deps.prediction.destinationOf({cluster, node: node.metadata.name, dst: req.to.ip, port: req.to.port}, deps.kube.contexts) : undefined
  if (predicted?.context) target = predicted.context === source.context ? source : deps.kube.open(predicted.context)
  let resolved: {destination: Destination; facts: DestinationFacts}
  if (predicted?.context && target && req.to.kind === 'address') {
    const nodes = target === source ? sourceNodes : await target.listNodes()
    const given = await resolveDestination(req.to, target, nodes, source, {endpoints: false, services: false})
    const extra = predicted.nodes.filter((n) => !given.destination.nodes.includes(n))
    resolved = {destination: {...given.destination, nodes: [...given.destination.nodes, ...extra]}, facts: {...given.facts, how: 'found', owner: given.facts.owner ?? predicted.owner}}
  } else if (req.to.kind === 'address' && !target) {
    // no context named: look for the destination's owner in every context of the kubeconfig
    const search = await findDestinationOwner(deps.kube, source, req.to.ip, req.to.port, {clock: deps.clock, signal: deps.signal, perContextMs: OWNER_SEARCH_MS})
    notes.push(...search.notes)
    resolved = await ownedDestination(req.to, search, source, ns, notes)
    if (search.match && search.match.cluster !== source && resolved.facts.context) target = search.match.cluster
  } else {
    resolved = await resolveDestination(req.to, target, targetNodes ?? sourceNodes, source, {endpoints: denied(targetDenied, 'get', 'endpoints'), services: denied(targetDenied, 'list', 'services')})
  }
  const destination = resolved.destination
  const masqConfig = denied(sourceDenied, 'get', 'configmaps') ? undefined : await source.getConfigMap('kube-system', 'ip-masq-agent')
  const anetd = denied(sourceDenied, 'get', 'daemonsets') ? undefined : await source.getDaemonSet('kube-system', 'anetd')
  event('facts', 'Read nodes, pods and services', 'done', `source node ${node.metadata.name}; destination ${destination.ip}:${destination.port}${destination.owner ? ` (${destination.owner})` : ''}`)

  mark('facts')
  const filter = buildCaptureFilter(destination.variants)
  const seconds = req.timeoutSeconds + req.startSeconds + 30
  const settings = {runId: req.runId, image: req.image, filter, seconds, scripts: deps.scripts, startDeadlineMs: req.startSeconds * 1000}
  const created: Created[] = []
  const track: Track = (c, namespace, name) => void created.push({cluster: c, namespace, name})
  const points: CapturePoint[] = [podCapture(w, source, ns, node.metadata.name, 0, settings, track)]
  if (target) {
    destination.nodes.filter((n) => !(target === source && n === node.metadata.name)).forEach((n, i) => points.push(podCapture(w, target, ns, n, i + 1, settings, track)))
  }
  if (deps.prediction && cluster) {
    const vms = deps.prediction.instancesOnPath({cluster, node: node.metadata.name, dst: destination.ip, port: destination.port})
    for (const vm of vms) {
      if (deps.instances) points.push(instanceCapture(w, deps.instances, vm, settings))
      else notes.push(`instance ${vm} is on the predicted path, but xcc cannot capture on VMs here`)
    }
  }

  let probe: ProbeObservation | undefined
  let captures: CaptureObservation[] = []
  let sourceLog: CaptureLog | undefined
  const cleanup = {deleted: [] as string[], kept: [] as string[], failed: [] as string[]}
  try {
    event('capture', `Start ${points.length} capture${points.length === 1 ? '' : 's'} (${points.map((p) => p.at).join(', ')})`, 'running')
    await Promise.all(points.map((p) => p.start()))
    mark('captures')
    const broken = points.filter((p) => p.state.status !== 'ok')
    event('capture', `Captures live on ${points.length - broken.length} of ${points.length} hosts`, broken.length ? 'failed' : 'done', broken.map((p) => `${p.at}: ${p.state.reason}`).join('; ') || undefined)

    event('probe', `Probe ${destination.ip}:${destination.port} (timeout ${req.timeoutSeconds}s)`, 'running')
    probe = await runProbe(req, deps, source, node, userPod, destination, denied(sourceDenied, 'patch', 'pods/ephemeralcontainers'), track, notes)
    event('probe', `Probe ${destination.ip}:${destination.port}: ${probe.result}`, probe.result === 'connected' ? 'done' : 'failed', probe.message)

    mark('probe')
    await deps.clock.sleep(GRACE_MS, deps.signal)
    throwIfAborted(deps.signal)
    const texts = await Promise.all(points.map(async (p) => (p.state.status === 'unavailable' ? '' : p.read())))
    const logs = texts.map(parseCaptureLog)
    sourceLog = logs[0]
    // the probe's own connection, by its SYN's sequence number (NAT changes addresses, not that)
    const flow = {sourcePort: req.sourcePort, services: destination.variants}
    const isn = probeIsn(logs.map((l) => l.capture.packets), flow)
    captures = points.map((p, i) => observeCapture(p, logs[i] ?? parseCaptureLog(''), {...flow, ...(isn === undefined ? {} : {isn})}, filter))
    mark('collect')
  } finally {
    await Promise.all(points.map((p) => p.stop().catch(() => undefined)))
    event('cleanup', req.keep ? `Keep ${created.length} pods (--keep)` : `Remove ${created.length} pods`, 'running')
    await removeCreated(created, req.keep, deps.clock, cleanup)
    mark('cleanup')
    event('cleanup', req.keep ? `Kept ${cleanup.kept.length} pods` : `Removed ${cleanup.deleted.length} pods`, cleanup.failed.length ? 'failed' : 'done', cleanup.failed.length ? `could not remove ${cleanup.failed.join(', ')}: run xcc doctor cleanup` : undefined)
  }

  const span = (from: string | undefined, to: string): number => Math.round((marks[to] ?? 0) - (from ? marks[from] ?? 0 : t0))
  const timings = {preflightMs: span(undefined, 'preflight'), factsMs: span('preflight', 'facts'), capturesLiveMs: span('facts', 'captures'), probeMs: span('captures', 'probe'), collectMs: span('probe', 'collect'), cleanupMs: span('collect', 'cleanup'), totalMs: Math.round(deps.clock.now() - t0)}
  return assembleLiveReport({
    request: req, timings, probe: probe as ProbeObservation, captures, notes, cleanup, destination, node, sourceContext: source.context,
    destinationFacts: resolved.facts, checks: deps.checks,
    sourceLog: sourceLog ?? parseCaptureLog(''), hostNetworkProbe: Boolean(userPod) && probe?.mode === 'host-network',
    ...(cluster ? {cluster} : {}), ...(deps.prediction ? {prediction: deps.prediction} : {}),
    ...(masqConfig ? {masqConfig} : {}),
    ...(anetd ? {dataplaneV2: true} : {}),
  })
}

/** a promise whose failure is held until it is awaited (no unhandled rejection while other checks run) */
function later<T>(promise: Promise<T>): () => Promise<T> {
  const settled = promise.then((value) => ({ok: true as const, value}), (error: unknown) => ({ok: false as const, error}))
  return async () => {
    const r = await settled
    if (!r.ok) throw r.error
    return r.value
  }
}

const sameCluster = (a: KubeCluster, b: KubeCluster): boolean => a === b || a.context === b.context || a.server.replace(/\/+$/, '') === b.server.replace(/\/+$/, '')

function serviceFacts(service: KubeService, context: string, clusterIpFromOutside: boolean): Pick<DestinationFacts, 'service' | 'clusterIpFromOutside'> {
  return {service: {context, namespace: service.metadata.namespace ?? 'default', name: service.metadata.name}, ...(clusterIpFromOutside ? {clusterIpFromOutside} : {})}
}

/** The destination named by --to (and --to-context): what owns it there, from the target cluster's objects. */
async function resolveDestination(to: Exclude<LiveTo, {kind: 'name'}>, target: KubeCluster | undefined, nodes: readonly KubeNode[], source: KubeCluster, denied: {endpoints: boolean; services: boolean}): Promise<{destination: Destination; facts: DestinationFacts}> {
  const endpoints = async (namespace: string, name: string): Promise<KubeEndpoints | undefined> => (denied.endpoints || !target ? undefined : target.getEndpoints(namespace, name))
  if (to.kind === 'service') {
    const cluster = target as KubeCluster
    const service = await cluster.getService(to.namespace, to.name)
    if (!service) throw new XccError(`--to ${to.context}/${to.namespace}/${to.name}: no such service in context "${to.context}"`, {hint: shellCommand(['kubectl', '--context', to.context, '-n', to.namespace, 'get', 'services'])})
    const destination = serviceDestination(service, await endpoints(to.namespace, to.name), nodes)
    const clusterIp = destination.ip === service.spec?.clusterIP
    return {destination, facts: {how: 'given', context: to.context, owner: destination.owner ?? `service ${to.namespace}/${to.name}`, ...serviceFacts(service, to.context, clusterIp && !sameCluster(cluster, source))}}
  }
  if (!target) return {destination: {ip: to.ip, port: to.port, variants: [{ip: to.ip, port: to.port}], nodes: [], mode: 'tcp'}, facts: {how: 'not-searched'}}
  const owner = denied.services ? undefined : serviceOwning(to.ip, to.port, await target.listServices())
  const ownerEndpoints = owner && (await endpoints(owner.service.metadata.namespace ?? 'default', owner.service.metadata.name))
  const destination = addressDestination(to.ip, to.port, owner && {...owner, ...(ownerEndpoints ? {endpoints: ownerEndpoints} : {})}, nodes)
  const clusterIp = owner !== undefined && !owner.byNodePort && owner.service.spec?.clusterIP === to.ip
  return {destination, facts: {how: 'given', context: target.context, ...(destination.owner ? {owner: destination.owner} : {}), ...(owner ? serviceFacts(owner.service, target.context, clusterIp && !sameCluster(target, source)) : {})}}
}

/** The destination as the search across contexts found it; a found context must also let xcc capture there. */
async function ownedDestination(to: Extract<LiveTo, {kind: 'address'}>, search: OwnerSearch, source: KubeCluster, namespace: string, notes: string[]): Promise<{destination: Destination; facts: DestinationFacts}> {
  const match = search.match
  if (!match) {
    const facts: DestinationFacts = {how: search.searched.length > 1 ? 'searched' : 'not-searched'}
    return {destination: {ip: to.ip, port: to.port, variants: [{ip: to.ip, port: to.port}], nodes: [], mode: 'tcp'}, facts}
  }
  const cluster = match.cluster
  const service = match.service
  const ownerEndpoints = service ? await cluster.getEndpoints(service.metadata.namespace ?? 'default', service.metadata.name).catch(() => undefined) : undefined
  const destination = addressDestination(to.ip, to.port, service && {service, byNodePort: !match.clusterIp && !service.status?.loadBalancer?.ingress?.some((i) => i.ip === to.ip), ...(ownerEndpoints ? {endpoints: ownerEndpoints} : {})}, match.nodes)
  const facts: DestinationFacts = {how: 'found', context: cluster.context, owner: match.owner, ...(service ? serviceFacts(service, cluster.context, match.clusterIp && !sameCluster(cluster, source)) : {})}
  if (sameCluster(cluster, source)) return {destination, facts}
  try {
    await checkAccess(cluster, [...podAccess(namespace, 'capture on the destination nodes'), {verb: 'list', resource: 'nodes', why: 'find the destination nodes', required: true}])
    return {destination, facts}
  } catch (error) {
    notes.push(`the destination is ${match.owner} in context ${cluster.context}, but xcc cannot capture there: ${(error as Error).message}`)
    return {destination: {...destination, nodes: []}, facts}
  }
}
