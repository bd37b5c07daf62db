/**
 * The live doctor's `--json`: the doctor's contract (core/doctor/report-schema.ts) plus
 * `observations`, as a zod schema. Tests validate every live report against it.
 */
import {z} from 'zod'

import {STEP_NAMES, diagnosisMatchesVerdict, doctorReportFields} from '../doctor/report-schema.js'

const packet = z.strictObject({
  time: z.number(), iface: z.string().optional(), direction: z.string().optional(),
  role: z.enum(['request', 'reply', 'reset', 'icmp', 'segment']),
  src: z.string(), srcPort: z.number().int().optional(), dst: z.string(), dstPort: z.number().int().optional(),
  flags: z.string().optional(), line: z.string(),
})

const probe = z.strictObject({
  at: z.string().min(1),
  pod: z.strictObject({context: z.string().min(1), namespace: z.string().min(1), name: z.string().min(1)}),
  node: z.string().min(1),
  mode: z.enum(['pod', 'ephemeral', 'host-network']),
  src: z.string().optional(), srcPort: z.number().int(), dst: z.string(), dstPort: z.number().int(),
  result: z.enum(['connected', 'timeout', 'failed', 'error', 'not-run']),
  exitCode: z.number().int().optional(), message: z.string().optional(), durationMs: z.number().int().optional(),
})

const capture = z.strictObject({
  at: z.string().regex(/^(node|instance)\//),
  host: z.strictObject({kind: z.enum(['node', 'instance']), name: z.string().min(1)}),
  context: z.string().optional(), pod: z.string().optional(),
  status: z.enum(['ok', 'broken', 'unavailable']), reason: z.string().optional(), filter: z.string().optional(),
  packets: z.array(packet), natRules: z.number().int().optional(),
})

const check = z.strictObject({
  step: z.enum(STEP_NAMES), at: z.string(), direction: z.enum(['forward', 'return']),
  expected: z.string(), observed: z.string(), status: z.enum(['match', 'mismatch', 'missing', 'unexpected']), lines: z.array(z.string()),
})

const ms = z.number().int().nonnegative()

/** `--to NAME:PORT`: the name's resolution in the source pod, before the path probe */
const dns = z.strictObject({
  name: z.string().min(1), at: z.string().min(1), mode: z.enum(['pod', 'ephemeral']), src: z.string().optional(),
  resolver: z.strictObject({nameservers: z.array(z.string()), search: z.array(z.string()), ndots: z.number().int().optional()}),
  result: z.enum(['resolved', 'not-found', 'servfail', 'timeout', 'error']), addresses: z.array(z.string()),
  exitCode: z.number().int().optional(), message: z.string().optional(), durationMs: z.number().int().optional(),
  captures: z.array(capture),
})

export const observationsSchema = z.strictObject({
  runId: z.string().regex(/^[0-9a-f]{6,16}$/),
  dns: dns.optional(),
  probe,
  captures: z.array(capture),
  checks: z.array(check).optional(),
  cleanup: z.strictObject({deleted: z.array(z.string()), kept: z.array(z.string()), failed: z.array(z.string())}),
  notes: z.array(z.string()),
  timings: z.strictObject({preflightMs: ms, factsMs: ms, capturesLiveMs: ms, probeMs: ms, collectMs: ms, cleanupMs: ms, totalMs: ms}),
})

export const liveReportSchema = z.strictObject({...doctorReportFields, observations: observationsSchema})
  .refine(diagnosisMatchesVerdict, {message: 'diagnosis is null exactly when the verdict is reachable'})
