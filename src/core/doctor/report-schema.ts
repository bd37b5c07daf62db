/**
 * The versioned `xcc doctor --json` contract as a zod schema. Tests validate every golden
 * report against it, so a change to the shape is a deliberate change here.
 */
import {z} from 'zod'

import {DIAGNOSIS_CODES} from './types.js'

const packet = z.strictObject({src: z.string(), dst: z.string(), protocol: z.enum(['tcp', 'udp']), srcPort: z.number().int(), dstPort: z.number().int()})

export const STEP_NAMES = [
  'START_FROM_GKE_POD', 'START_FROM_INSTANCE', 'NAT', 'SKIP_GKE_POD_IP_MASQUERADING', 'APPLY_EGRESS_FIREWALL_RULE', 'APPLY_ROUTE', 'APPLY_FORWARDING_RULE',
  'ANALYZE_LOAD_BALANCER_BACKEND', 'SPOOFING_APPROVED', 'APPLY_INGRESS_FIREWALL_RULE', 'ARRIVE_AT_INSTANCE', 'ARRIVE_AT_GKE_POD', 'DELIVER', 'DROP', 'ABORT',
] as const

const host = z.discriminatedUnion('kind', [
  z.strictObject({kind: z.literal('pod'), name: z.string().min(1), cluster: z.string().min(1), namespace: z.string().min(1), node: z.string().min(1)}),
  z.strictObject({kind: z.enum(['node', 'instance', 'network', 'lb']), name: z.string().min(1)}),
])

export const stepSchema = z.strictObject({
  step: z.enum(STEP_NAMES),
  at: z.string().min(1),
  host,
  packet,
  detail: z.string().min(1),
  cause: z.string().regex(/^[A-Z_]+$/).optional(),
  firewall: z.strictObject({name: z.string(), type: z.enum(['VPC_FIREWALL_RULE', 'IMPLIED_VPC_FIREWALL_RULE', 'TRACKING_STATE']), action: z.enum(['allow', 'deny']), priority: z.number().int(), network: z.string(), direction: z.enum(['INGRESS', 'EGRESS'])}).optional(),
  route: z.strictObject({name: z.string(), type: z.enum(['SUBNET', 'STATIC', 'PEERING_SUBNET', 'PEERING_STATIC']), destRange: z.string(), priority: z.number().int(), nextHop: z.string(), nextHopType: z.string(), network: z.string(), peering: z.string().optional()}).optional(),
  nat: z.strictObject({type: z.string(), before: packet, after: packet, randomPort: z.boolean().optional()}).optional(),
  reason: z.string().optional(),
  nonMasqueradeRange: z.string().optional(),
  rules: z.array(z.strictObject({source: z.string(), table: z.string(), chain: z.string(), line: z.number().int(), rule: z.string()})).optional(),
  warning: z.string().optional(),
}).refine((s) => (s.step === 'DROP' || s.step === 'ABORT') === (s.cause !== undefined), {message: 'DROP and ABORT steps, and only they, carry a cause'})

const finding = z.strictObject({
  check: z.string().regex(/^[a-z]+(\.[a-z0-9-]+)+$/),
  status: z.enum(['pass', 'fail', 'warn', 'skip', 'error']),
  summary: z.string().min(1),
  evidence: z.array(z.string()).optional(),
  fix: z.array(z.string()).optional(),
  docs: z.string().startsWith('docs/checks.md#'),
})

const verdict = z.enum(['reachable', 'unreachable', 'ambiguous', 'unknown'])

/** the report's fields, without the rules that tie them together (extended by the live report) */
export const doctorReportFields = {
  schemaVersion: z.literal(1),
  verdict,
  diagnosis: z.strictObject({
    code: z.enum(DIAGNOSIS_CODES), summary: z.string().min(1), evidence: z.array(z.string()), fix: z.array(z.string()),
    fixes: z.array(z.strictObject({summary: z.string().min(1), commands: z.array(z.string().min(1)), applies: z.enum(['xcc', 'gcloud', 'kubectl', 'manual']), script: z.string().optional()})),
  }).nullable(),
  forward: z.array(stepSchema).min(1),
  return: z.array(stepSchema),
  findings: z.array(finding),
  flow: z.strictObject({from: z.string(), to: z.string(), packet}),
  alternatives: z.array(z.strictObject({verdict, forward: z.array(stepSchema), return: z.array(stepSchema)})).optional(),
  dns: z.strictObject({
    name: z.string().min(1), cluster: z.string().min(1), namespace: z.string().min(1), nameserver: z.string().optional(),
    steps: z.array(z.strictObject({
      query: z.string().endsWith('.'), server: z.string().min(1), answer: z.enum(['address', 'NXDOMAIN', 'unknown', 'unreachable']),
      address: z.string().optional(), detail: z.string().min(1),
    })).min(1),
    outcome: z.enum(['resolved', 'DNS_NAME_NOT_FOUND', 'DNS_STUB_DOMAIN_MISSING', 'DNS_SERVER_UNREACHABLE', 'unknown']),
    address: z.string().optional(),
    query: z.string().optional(),
  }).optional(),
}

export const diagnosisMatchesVerdict = (r: {diagnosis: unknown; verdict: string}): boolean => (r.diagnosis === null) === (r.verdict === 'reachable')

export const doctorReportSchema = z.strictObject(doctorReportFields).refine(diagnosisMatchesVerdict, {message: 'diagnosis is null exactly when the verdict is reachable'})
