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

/**
 * A pod's annotation naming the TCP ports it serves, comma-separated ("" = none). Kubernetes has
 * no such fact (containerPorts are informational: an undeclared port is served all the same), so
 * xcc reads it only from this annotation: `xcc snapshot` turns it into the topology's
 * `pods[].ports`, and the lab puts it on the pods whose topology says what they serve. Put it on
 * your own pods to let the static doctor say DESTINATION_NOT_LISTENING; absent = unknown.
 */
export const PORTS_ANNOTATION = 'xcc.dev/ports'

/** the annotation's ports, sorted; undefined when absent; an error message when it is not a list of ports */
export function parsePortsAnnotation(text: string | undefined): number[] | undefined | {error: string} {
  if (text === undefined) return undefined
  if (text.trim() === '') return []
  const out: number[] = []
  for (const part of text.split(',')) {
    const t = part.trim()
    const n = /^\d{1,5}$/.test(t) ? Number(t) : NaN
    if (!(n >= 1 && n <= 65535)) return {error: `"${part.slice(0, 20)}" is not a port 1..65535`}
    out.push(n)
  }
  return [...new Set(out)].sort((a, b) => a - b)
}
