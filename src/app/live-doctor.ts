/**
 * Wires the live doctor to the outside world: the kube contexts, the lab's VMs when the context
 * belongs to an xcc lab, the clock, the probe scripts, Ctrl-C (abort the run, remove its pods,
 * exit 130; a second Ctrl-C exits at once) and progress on stderr.
 */
import {randomBytes, randomInt} from 'node:crypto'

import {LIVE_CHECKS} from '../checks/index.js'
import type {Check} from '../core/doctor/check.js'
import {parseDuration} from '../core/duration.js'
import {XccError} from '../core/errors.js'
import {checkImage} from '../core/kube/image.js'
import type {LiveReport} from '../core/probe/report.js'
import {type LiveEvent, runLiveDoctor} from '../core/probe/run.js'
import {parseLiveFrom, parseLiveTo} from '../core/probe/targets.js'
import {topologyPrediction} from '../core/probe/topology-prediction.js'
import type {Model} from '../core/topology/model-types.js'
import {type LiveProgress, inkProgress, plainProgress} from '../render/live-progress.js'
import {clock, instanceShellFor, openKube, templates} from './deps.js'
import {interruptible} from './interrupt.js'

export interface LiveDoctorFlags {
  readonly from: string
  readonly to: string
  readonly toContext?: string
  readonly node?: string
  readonly timeout: string
  readonly image: string
  readonly keep: boolean
  readonly kubeconfig?: string
  readonly probeNamespace: string
  readonly startTimeout: string
}

export async function runLiveDoctorCommand(flags: LiveDoctorFlags, model: Model | undefined, checks: readonly Check[], options: {interactive: boolean}): Promise<LiveReport> {
  const from = parseLiveFrom(flags.from)
  const to = parseLiveTo(flags.to)
  if (to.kind === 'service' && flags.toContext && flags.toContext !== to.context) {
    throw new XccError(`--to-context ${flags.toContext} contradicts --to ${flags.to}`, {hint: 'a service destination names its own context; drop --to-context'})
  }
  if (from.pod && flags.node) throw new XccError('--node cannot be combined with --from <context>/<namespace>/<pod>: the probe runs on that pod\'s node', {hint: 'drop --node'})
  const timeoutSeconds = Math.ceil(parseDuration(flags.timeout, 'timeout', {min: 1, max: 300}))
  const startSeconds = Math.ceil(parseDuration(flags.startTimeout, 'start-timeout', {min: 1, max: 600}))
  checkImage(flags.image)
  const kube = await openKube(flags.kubeconfig)
  const instances = instanceShellFor(kube.open(from.context).server)
  const progress: LiveProgress = options.interactive ? await inkProgress(process.stderr) : plainProgress(process.stderr)
  try {
    return await interruptible((signal) => runLiveDoctor({
      from, to, ...(flags.toContext ? {toContext: flags.toContext} : {}), ...(flags.node ? {node: flags.node} : {}),
      timeoutSeconds, startSeconds, image: flags.image, keep: flags.keep, probeNamespace: flags.probeNamespace,
      runId: randomBytes(4).toString('hex'), sourcePort: randomInt(42000, 60000),
    }, {
      kube, clock, scripts: templates.probeScripts(), signal, instances,
      ...(model ? {prediction: topologyPrediction(model, checks, {contexts: kube.contexts})} : {}), checks: LIVE_CHECKS,
      onEvent: (e: LiveEvent) => progress.onEvent(e),
    }), 'removing the pods of this run')
  } finally {
    await progress.close()
  }
}
