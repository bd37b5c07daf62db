/**
 * Wires `xcc masquerade add|list|remove` to the outside world: the kube context, permissions
 * asked before anything is read or written, the node scripts, the clock, Ctrl-C (stop waiting,
 * remove the pods `list` created — core/masquerade/list.ts does, on every way out — exit 130)
 * and progress on stderr.
 */
import {randomBytes} from 'node:crypto'

import {parseDuration} from '../core/duration.js'
import {InterruptedError, XccError} from '../core/errors.js'
import {checkImage} from '../core/kube/image.js'
import {shellCommand, visible} from '../core/shell.js'
import {MASQUERADE_ROLE, type WriteResult, applyPlan, listAccess, readAccess, writeAccess} from '../core/masquerade/apply.js'
import {parseMasqueradeCidrs} from '../core/masquerade/cidrs.js'
import {DEFAULT_MASQUERADE_IMAGE} from '../core/masquerade/daemonset.js'
import {type MasqueradeListing, listMasquerade} from '../core/masquerade/list.js'
import {type MasqueradePlan, parseMode, planAdd, planChanges, planRemove} from '../core/masquerade/plan.js'
import {type MasqueradeState, loadMasqueradeState} from '../core/masquerade/state.js'
import type {KubeCluster} from '../core/ports/kube.js'
import {checkAccess} from '../core/kube/access.js'
import {clock, openKube, templates} from './deps.js'
import {interruptible} from './interrupt.js'

export interface CommonFlags {
  readonly context: string
  readonly kubeconfig?: string
}

export interface WriteFlags extends CommonFlags {
  readonly dryRun: boolean
  readonly output?: string
  readonly image?: string
  readonly timeout: string
}

const progress = (text: string): void => {
  process.stderr.write(`xcc: ${visible(text)}\n`)
}

async function openState(flags: CommonFlags): Promise<{cluster: KubeCluster; state: MasqueradeState}> {
  const kube = await openKube(flags.kubeconfig)
  const cluster = kube.open(flags.context)
  await checkAccess(cluster, readAccess(), MASQUERADE_ROLE)
  return {cluster, state: await loadMasqueradeState(cluster)}
}

function checkOutput(flags: WriteFlags): void {
  if (flags.output === undefined) return
  if (!flags.dryRun) throw new XccError(`-o ${flags.output} needs --dry-run`, {hint: 'xcc masquerade … --dry-run -o yaml prints the manifests without applying them'})
  if (flags.output !== 'yaml' && flags.output !== 'diff') throw new XccError(`-o ${flags.output}: expected yaml or diff`)
}

/** --timeout of add and remove, in ms (checked before anything is read) */
function rolloutTimeoutMs(flags: WriteFlags): number {
  return parseDuration(flags.timeout, 'timeout', {min: 1, max: 3600}) * 1000
}

async function execute(cluster: KubeCluster, plan: MasqueradePlan, flags: WriteFlags, timeoutMs: number): Promise<WriteResult> {
  if (flags.dryRun) return {plan}
  const changes = planChanges(plan)
  if (changes.length === 0) return {plan, applied: []}
  const modes = new Set(changes.map((c) => (c.kind === 'ConfigMap' ? 'ip-masq-agent' as const : 'daemonset' as const)))
  await checkAccess(cluster, [...modes].flatMap((m) => writeAccess(m)), MASQUERADE_ROLE)
  try {
    const applied = await interruptible((signal) => applyPlan(plan, {cluster, clock, signal, progress, timeoutMs}), 'stopping (what was written stays)')
    return {plan, applied}
  } catch (error) {
    if (error instanceof InterruptedError) throw new InterruptedError(`interrupted: what was written stays; xcc stopped following the rollout — see it with: ${shellCommand(['xcc', 'masquerade', 'list', '--context', plan.context])}`)
    throw error
  }
}

export async function runMasqueradeAdd(flags: WriteFlags & {cidr: readonly string[]; mode: string; force: boolean}): Promise<WriteResult> {
  const cidrs = parseMasqueradeCidrs(flags.cidr)
  const mode = parseMode(flags.mode)
  checkOutput(flags)
  checkImage(flags.image)
  const timeoutMs = rolloutTimeoutMs(flags)
  const {cluster, state} = await openState(flags)
  const image = flags.image ?? state.xccDaemonSet?.spec.template.spec.containers[0]?.image ?? DEFAULT_MASQUERADE_IMAGE
  const plan = planAdd(state, cidrs, {mode, force: flags.force, daemonSet: {image, script: templates.masqueradeScripts().daemon}})
  return execute(cluster, plan, flags, timeoutMs)
}

export async function runMasqueradeRemove(flags: WriteFlags & {cidr?: readonly string[]; all: boolean; force: boolean}): Promise<WriteResult> {
  if (flags.all === (flags.cidr !== undefined && flags.cidr.length > 0)) throw new XccError('give --cidr <cidr>… or --all', {hint: 'xcc masquerade remove --context <ctx> --cidr 10.193.0.0/16, or --all to undo everything xcc did in that context'})
  const cidrs = flags.all ? 'all' as const : parseMasqueradeCidrs(flags.cidr ?? [])
  checkOutput(flags)
  const timeoutMs = rolloutTimeoutMs(flags)
  const {cluster, state} = await openState(flags)
  const plan = planRemove(state, cidrs, templates.masqueradeScripts().daemon, {force: flags.force})
  return execute(cluster, plan, flags, timeoutMs)
}

export async function runMasqueradeList(flags: CommonFlags & {cidr?: readonly string[]; image?: string; timeout: string}): Promise<MasqueradeListing> {
  const extra = flags.cidr && flags.cidr.length > 0 ? parseMasqueradeCidrs(flags.cidr) : []
  checkImage(flags.image)
  const startDeadlineMs = parseDuration(flags.timeout, 'timeout', {min: 1, max: 600}) * 1000
  const {cluster, state} = await openState(flags)
  await checkAccess(cluster, listAccess(), MASQUERADE_ROLE)
  // the pods of the run are removed by listMasquerade on every way out (failure, timeout, interrupt)
  return interruptible((signal) => listMasquerade(state, {cluster, clock, signal, scripts: templates.masqueradeScripts(), progress}, {
    runId: randomBytes(4).toString('hex'), image: flags.image ?? DEFAULT_MASQUERADE_IMAGE, extra, startDeadlineMs,
    ...(flags.kubeconfig ? {kubeconfig: flags.kubeconfig} : {}),
  }), 'removing the pods of this run')
}
