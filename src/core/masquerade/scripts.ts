/** The node scripts of `xcc masquerade` (templates/masquerade), loaded by an adapter. */
export interface MasqueradeScripts {
  /** xcc-masquerade.sh: the DaemonSet's reconcile loop */
  readonly daemon: string
  /** node-rules.sh: prints the node's nat table between markers */
  readonly nodeRules: string
}
