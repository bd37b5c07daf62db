/** The diagnosis a doctor report carries (contracts.md §2): its codes and what decided it. */
import type {Step} from '../trace/types.js'
import type {MissingRouteCause} from './explain-route.js'

export const DIAGNOSIS_CODES = [
  'POD_SNAT_MISSING', 'GATEWAY_SNAT_MISSING', 'OVERLAPPING_RANGES', 'NO_ROUTE', 'PEERING_INACTIVE', 'PEERING_NOT_TRANSITIVE',
  'PEERING_CUSTOM_ROUTES_NOT_EXCHANGED', 'FIREWALL_RULE', 'FORWARDING_RULE_REGION_MISMATCH', 'FORWARDING_RULE_MISMATCH', 'FORWARDING_RULE_NO_INSTANCES',
  'FIREWALL_BLOCKING_LOAD_BALANCER_BACKEND_HEALTH_CHECK', 'FOREIGN_IP_DISALLOWED', 'GUEST_FORWARDING_DISABLED', 'CLUSTER_IP_FROM_OUTSIDE_CLUSTER',
  'UNKNOWN_INTERNAL_ADDRESS', 'DESTINATION_NOT_LISTENING', 'INSUFFICIENT_INFO',
  'DNS_NAME_NOT_FOUND', 'DNS_STUB_DOMAIN_MISSING', 'DNS_SERVER_UNREACHABLE', 'DNS_RECORD_STALE',
] as const
export type DiagnosisCode = (typeof DIAGNOSIS_CODES)[number]

export interface Diagnosis {
  readonly code: DiagnosisCode
  readonly summary: string
  readonly evidence: readonly string[]
  /** the contract's strings: the recommended fix's commands, then alternatives prefixed `or:` */
  readonly fix: readonly string[]
  /** the same, structured: the recommended fix first */
  readonly fixes: readonly Fix[]
}

/** A failure and what it means. */
export interface Failure {
  readonly code: DiagnosisCode
  readonly step: Step
  readonly direction: 'forward' | 'return'
  readonly missing?: MissingRouteCause
}

export type FixApplies = 'xcc' | 'gcloud' | 'kubectl' | 'manual'

export interface Fix {
  /** what the fix does, in one sentence */
  readonly summary: string
  /** shell lines to paste, in order (empty for a manual fix) */
  readonly commands: readonly string[]
  readonly applies: FixApplies
  /** the startup script a fix installs on a VM, as it runs there */
  readonly script?: string
}
