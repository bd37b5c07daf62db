/**
 * The `xcc-masquerade` DaemonSet: on every node (it tolerates every taint), a host-network
 * container with NET_ADMIN keeps the nat chain `XCC-MASQ` — one MASQUERADE rule per range —
 * and the jump to it as the first rule of POSTROUTING, so it decides before any RETURN for
 * 10/8 further down (SNAT-09, SNAT-11, SNAT-14: the first rule that masquerades wins). It
 * reconciles periodically and removes the chain when its pod is stopped (DaemonSet deleted).
 * The script is templates/masquerade/xcc-masquerade.sh, embedded so the manifest stands alone.
 */
import {XccError} from '../errors.js'
import {type Cidr, formatCidr, parseCidr} from '../net/ipv4.js'
import type {KubeDaemonSet, KubeMeta} from '../ports/kube.js'
import {MANAGED_BY, MANAGED_BY_LABEL} from '../kube/labels.js'
import {XCC_DAEMONSET} from './state.js'

export const XCC_CHAIN = 'XCC-MASQ'
/** the ranges xcc manages, on the object it manages them with (DaemonSet or ConfigMap) */
export const CIDRS_ANNOTATION = 'xcc.dev/masquerade-cidrs'
export const DEFAULT_RESYNC_SECONDS = 30
/** a public image with sh and iptables (legacy and nft) */
export const DEFAULT_MASQUERADE_IMAGE = 'nicolaka/netshoot:v0.13'

export interface XccDaemonSetInput {
  readonly namespace: string
  readonly cidrs: readonly Cidr[]
  readonly image: string
  readonly script: string
  readonly resyncSeconds?: number
}

export function cidrList(cidrs: readonly Cidr[]): string {
  return cidrs.map(formatCidr).join(',')
}

export function buildXccDaemonSet(input: XccDaemonSetInput): KubeDaemonSet {
  const labels = {'app.kubernetes.io/name': XCC_DAEMONSET, [MANAGED_BY_LABEL]: MANAGED_BY}
  const list = cidrList(input.cidrs)
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {name: XCC_DAEMONSET, namespace: input.namespace, labels, annotations: {[CIDRS_ANNOTATION]: list}},
    spec: {
      selector: {matchLabels: {'app.kubernetes.io/name': XCC_DAEMONSET}},
      // the new pod writes the chain before the old one stops: no node goes without the rules
      updateStrategy: {type: 'RollingUpdate', rollingUpdate: {maxSurge: 1, maxUnavailable: 0}},
      template: {
        metadata: {labels},
        spec: {
          hostNetwork: true,
          priorityClassName: 'system-node-critical',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 10,
          tolerations: [{operator: 'Exists'}],
          containers: [{
            name: 'masquerade',
            image: input.image,
            command: ['sh', '-c', input.script, XCC_DAEMONSET],
            env: [
              {name: 'XCC_MASQ_CIDRS', value: list},
              {name: 'XCC_MASQ_RESYNC_SECONDS', value: String(input.resyncSeconds ?? DEFAULT_RESYNC_SECONDS)},
              {name: 'XCC_POD_NAME', valueFrom: {fieldRef: {fieldPath: 'metadata.name'}}},
            ],
            // NET_ADMIN only (iptables); nothing else is added
            securityContext: {capabilities: {add: ['NET_ADMIN']}, allowPrivilegeEscalation: false},
            resources: {requests: {cpu: '5m', memory: '16Mi'}, limits: {memory: '64Mi'}},
          }],
        },
      },
    },
  }
}

/** xcc's own list of ranges on an object; an entry that is not a CIDR (edited by hand) is bad input, not a crash */
function splitList(text: string | undefined, where: () => string): string[] {
  const out = (text ?? '').split(',').map((t) => t.trim()).filter(Boolean)
  for (const entry of out) {
    const parsed = parseCidr(entry)
    if (!parsed.ok) throw new XccError(`${where()} holds "${entry}", not a CIDR (${parsed.reason})`, {hint: 'xcc keeps its ranges there; put back the ranges xcc masquerades (comma-separated CIDRs), or delete the object to start over'})
  }
  return out
}

/** the ranges xcc keeps on an object it manages (its annotation; none when absent) */
export function annotatedCidrs(object: {readonly kind?: string; readonly metadata: KubeMeta} | undefined): string[] {
  return splitList(object?.metadata.annotations?.[CIDRS_ANNOTATION], () => `${object?.kind ?? 'object'} ${object?.metadata.namespace}/${object?.metadata.name}: annotation ${CIDRS_ANNOTATION}`)
}

/** the ranges a DaemonSet of xcc keeps masqueraded (from its annotation, else its env) */
export function daemonSetCidrs(ds: KubeDaemonSet): string[] {
  if (ds.metadata.annotations?.[CIDRS_ANNOTATION] !== undefined) return annotatedCidrs({...ds, kind: 'DaemonSet'})
  return splitList(ds.spec.template.spec.containers[0]?.env?.find((e) => e.name === 'XCC_MASQ_CIDRS')?.value, () => `DaemonSet ${ds.metadata.namespace}/${ds.metadata.name}: env XCC_MASQ_CIDRS`)
}
