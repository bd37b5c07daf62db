/**
 * How xcc marks what it creates in a cluster (design.md habit 6): every object carries
 * `app.kubernetes.io/managed-by: xcc`; the pods of one run also carry its run id, so cleanup finds
 * them by label and touches nothing else.
 */

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by'
export const MANAGED_BY = 'xcc'
export const RUN_ID_LABEL = 'xcc.dev/run-id'
export const ROLE_LABEL = 'xcc.dev/role'
/**
 * every pod an xcc run creates matches this selector (`xcc doctor cleanup`); the pods of xcc's
 * masquerade DaemonSet are managed by xcc too, but carry no run id: their DaemonSet owns them
 */
export const OWNED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY},${RUN_ID_LABEL}`

/** run ids are short lowercase hex (a DNS label part) */
export function isRunId(text: string): boolean {
  return /^[0-9a-f]{6,16}$/.test(text)
}

export function runSelector(runId: string): string {
  return `${OWNED_SELECTOR},${RUN_ID_LABEL}=${runId}`
}
