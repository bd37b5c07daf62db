/**
 * What `xcc dns` needs to know about cluster A before it plans (design.md habit 2: gather, then
 * evaluate): which DNS it runs and its configuration, and xcc's responder objects; and what it
 * needs to be allowed to do, asked before anything is read or written.
 *
 * The provider: a `kube-system/coredns` ConfigMap with a `Corefile` → CoreDNS; else kube-dns
 * (GKE's default, whose `kube-system/kube-dns` ConfigMap may not exist yet). A Corefile that
 * imports `custom/*.server` with a `kube-system/coredns-custom` ConfigMap (AKS, k3s, DigitalOcean)
 * takes xcc's block as its own key there, since those platforms reconcile the Corefile itself.
 */
import type {AccessNeed} from '../kube/access.js'
import type {KubeCluster, KubeConfigMap, KubeDeployment, KubeService} from '../ports/kube.js'
import {parseCorefile} from './corefile.js'
import {KUBE_DNS_CONFIGMAP, KUBE_DNS_NAMESPACE} from './kube-dns.js'
import {RESPONDER_NAME, RESPONDER_NAMESPACE} from './responder.js'

export const COREDNS_CONFIGMAP = 'coredns'
export const COREDNS_CUSTOM_CONFIGMAP = 'coredns-custom'
export const COREFILE_KEY = 'Corefile'
export const ADDON_MODE_LABEL = 'addonmanager.kubernetes.io/mode'
export const DNS_ROLE = {command: 'xcc dns', role: 'xcc-dns-admin'}

export type DnsProvider = 'kube-dns' | 'coredns' | 'coredns-custom'

export interface DnsState {
  readonly context: string
  readonly provider: DnsProvider
  readonly why: string
  readonly kubeDns?: KubeConfigMap
  readonly coredns?: KubeConfigMap
  readonly corednsCustom?: KubeConfigMap
  readonly responder: {
    readonly configMap?: KubeConfigMap
    readonly deployment?: KubeDeployment
    readonly service?: KubeService
  }
}

export const corefileWhere = `ConfigMap ${KUBE_DNS_NAMESPACE}/${COREDNS_CONFIGMAP} key "${COREFILE_KEY}"`

/** the provider of a cluster, from its DNS ConfigMaps */
export function detectProvider(coredns: KubeConfigMap | undefined, custom: KubeConfigMap | undefined): {provider: DnsProvider; why: string} {
  const corefile = coredns?.data?.[COREFILE_KEY]
  if (corefile === undefined) return {provider: 'kube-dns', why: `no ${KUBE_DNS_NAMESPACE}/${COREDNS_CONFIGMAP} Corefile: kube-dns (stubDomains in ${KUBE_DNS_NAMESPACE}/${KUBE_DNS_CONFIGMAP})`}
  const imports = parseCorefile(corefile, corefileWhere).imports.map((i) => i.pattern)
  const serverImport = imports.find((p) => /(^|\/)custom\/\*\.server$/.test(p))
  if (serverImport && custom) return {provider: 'coredns-custom', why: `the Corefile imports ${serverImport}: xcc's block goes in ${KUBE_DNS_NAMESPACE}/${COREDNS_CUSTOM_CONFIGMAP}`}
  return {provider: 'coredns', why: `CoreDNS: xcc's block goes in the Corefile of ${KUBE_DNS_NAMESPACE}/${COREDNS_CONFIGMAP}`}
}

export async function loadDnsState(cluster: KubeCluster): Promise<DnsState> {
  const [kubeDns, coredns, custom, configMap, deployment, service] = await Promise.all([
    cluster.getConfigMap(KUBE_DNS_NAMESPACE, KUBE_DNS_CONFIGMAP),
    cluster.getConfigMap(KUBE_DNS_NAMESPACE, COREDNS_CONFIGMAP),
    cluster.getConfigMap(KUBE_DNS_NAMESPACE, COREDNS_CUSTOM_CONFIGMAP),
    cluster.getConfigMap(RESPONDER_NAMESPACE, RESPONDER_NAME),
    cluster.getDeployment(RESPONDER_NAMESPACE, RESPONDER_NAME),
    cluster.getService(RESPONDER_NAMESPACE, RESPONDER_NAME),
  ])
  const {provider, why} = detectProvider(coredns, custom)
  return {
    context: cluster.context, provider, why,
    ...(kubeDns ? {kubeDns} : {}), ...(coredns ? {coredns} : {}), ...(custom ? {corednsCustom: custom} : {}),
    responder: {...(configMap ? {configMap} : {}), ...(deployment ? {deployment} : {}), ...(service ? {service} : {})},
  }
}

/** the cluster's own domain, where its DNS configuration says it (the CoreDNS kubernetes plugin's first zone) */
export function clusterDomainOf(state: DnsState): string | undefined {
  const corefile = state.coredns?.data?.[COREFILE_KEY]
  if (corefile === undefined) return undefined
  const plugin = parseCorefile(corefile, corefileWhere).servers.flatMap((s) => s.plugins).find((p) => p.name === 'kubernetes' && p.args.length > 0)
  return plugin?.args[0]?.toLowerCase().replace(/\.$/, '')
}

/** reading A's DNS configuration and xcc's responder */
export function readAccess(): AccessNeed[] {
  return [
    {verb: 'get', resource: 'configmaps', namespace: KUBE_DNS_NAMESPACE, why: 'read the cluster DNS configuration and xcc\'s responder', required: true},
    {verb: 'get', resource: 'services', namespace: RESPONDER_NAMESPACE, why: 'find xcc\'s DNS responder', required: true},
    {verb: 'get', resource: 'deployments', group: 'apps', namespace: RESPONDER_NAMESPACE, why: 'find xcc\'s DNS responder', required: true},
  ]
}

/** reading B's Services and their load balancers */
export function remoteAccess(): AccessNeed[] {
  return [{verb: 'list', resource: 'services', why: 'learn the Services of the linked cluster and their internal load balancers', required: true}]
}

/** link, optional: the responder's pods, to say why one is not ready (the wait works without it) */
export function responderPodsAccess(): AccessNeed {
  return {verb: 'list', resource: 'pods', namespace: RESPONDER_NAMESPACE, why: 'say why the DNS responder is not ready', required: false}
}

/** writing: the DNS ConfigMap (kube-dns, coredns or coredns-custom) and the responder */
export function writeAccess(): AccessNeed[] {
  const ns = RESPONDER_NAMESPACE
  return [
    ...(['create', 'update', 'delete'] as const).map((verb) => ({verb, resource: 'configmaps', namespace: ns, why: 'edit the cluster DNS configuration and the responder\'s records', required: true})),
    ...(['create', 'update', 'delete'] as const).map((verb) => ({verb, resource: 'deployments', group: 'apps', namespace: ns, why: 'run the DNS responder', required: true})),
    ...(['create', 'delete'] as const).map((verb) => ({verb, resource: 'services', namespace: ns, why: 'give the DNS responder its address', required: true})),
  ]
}
