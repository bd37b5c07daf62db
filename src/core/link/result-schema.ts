/**
 * The versioned `xcc link create --json` and `xcc link delete --json` contracts (contracts §9) as
 * zod schemas: tests validate every output against them, so a change of shape is deliberate here.
 */
import {z} from 'zod'

import {doctorReportSchema} from '../doctor/report-schema.js'

const planItem = z.strictObject({action: z.enum(['create', 'update', 'delete']), kind: z.string().min(1), name: z.string().min(1), reason: z.string()})
const applied = z.strictObject({
  key: z.string().min(1), action: z.enum(['create', 'update', 'delete']), kind: z.string().min(1), name: z.string().min(1),
  result: z.enum(['created', 'updated', 'deleted', 'already-exists', 'already-gone']), ms: z.number().nonnegative(), requests: z.number().int().nonnegative(), retries: z.number().int().nonnegative(),
})
const kubeStep = z.strictObject({kind: z.enum(['masquerade', 'annotation']), cluster: z.string().min(1), name: z.string(), result: z.enum(['applied', 'not-applied', 'planned']), detail: z.string().optional()})

export const linkCreateJsonSchema = z.strictObject({
  schemaVersion: z.literal(1),
  link: z.string().min(1),
  mode: z.enum(['peering', 'gateway']),
  modeReason: z.string().min(1),
  project: z.string().min(1),
  dryRun: z.boolean(),
  plan: z.array(planItem),
  kube: z.array(kubeStep),
  applied: z.array(applied),
  /** `IP:PORT`, null before the link is applied (dry run) or without --service */
  address: z.string().regex(/^\d+\.\d+\.\d+\.\d+:\d+$/).nullable(),
  verify: doctorReportSchema.nullable(),
  requests: z.number().int().nonnegative(),
})

export const linkDeleteJsonSchema = z.strictObject({
  schemaVersion: z.literal(1),
  link: z.string().min(1),
  project: z.string().min(1),
  dryRun: z.boolean(),
  plan: z.array(planItem),
  applied: z.array(applied),
  masquerade: z.array(z.strictObject({context: z.string().min(1), cidrs: z.array(z.string())})),
  /** the Service annotations the link had set, put back (restored) or left as someone changed them (kept) */
  annotations: z.array(z.strictObject({context: z.string().min(1), service: z.string().min(1), key: z.string().min(1), previous: z.string().nullable(), result: z.enum(['restored', 'kept'])})),
  nothingToDelete: z.boolean(),
})
