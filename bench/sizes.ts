/** The benchmark's topology sizes. */

export interface SizeParams {
  readonly label: string
  readonly networks: number
  /** declared static routes (clusters in ROUTES mode imply one more per node) */
  readonly routes: number
  readonly firewalls: number
  readonly clusters: number
  readonly nodesPerCluster: number
  /** lines of the one large kube-proxy iptables-save dump (node 0 of cluster 0) */
  readonly iptablesLines: number
  readonly seed: number
}

/** Five sizes, each about 3.3× the previous one, up to the largest. */
export const SIZES: readonly SizeParams[] = [
  {label: 'xs', networks: 4, routes: 200, firewalls: 200, clusters: 2, nodesPerCluster: 10, iptablesLines: 1_000, seed: 1},
  {label: 's', networks: 6, routes: 600, firewalls: 600, clusters: 3, nodesPerCluster: 10, iptablesLines: 3_000, seed: 1},
  {label: 'm', networks: 20, routes: 2_000, firewalls: 2_000, clusters: 10, nodesPerCluster: 10, iptablesLines: 10_000, seed: 1},
  {label: 'l', networks: 60, routes: 6_000, firewalls: 6_000, clusters: 30, nodesPerCluster: 10, iptablesLines: 30_000, seed: 1},
  {label: 'xl', networks: 200, routes: 20_000, firewalls: 20_000, clusters: 100, nodesPerCluster: 10, iptablesLines: 100_000, seed: 1},
]

export function sizeByLabel(label: string): SizeParams {
  const size = SIZES.find((s) => s.label === label)
  if (!size) throw new Error(`unknown size "${label}" (known: ${SIZES.map((s) => s.label).join(', ')})`)
  return size
}
